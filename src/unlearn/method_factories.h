// Factories of the unlearning methods, one file each (ft.cc, which retrain shares, ga.cc,
// rl.cc, l1sparse.cc, salun.cc, bs.cc, qmul.cc, oeu.cc). The interface they implement is
// method.h. Private to src/unlearn: everyone else goes through MakeMethod.
#pragma once

#include <memory>

#include "unlearn/method.h"

namespace qf::unlearn {

std::unique_ptr<Method> MakeRetrain();         // retrain: from scratch on D_r
std::unique_ptr<Method> MakeFineTune();        // ft: cross-entropy on D_r
std::unique_ptr<Method> MakeGradientAscent();  // ga: minimize -CE on D_f
std::unique_ptr<Method> MakeRandomLabels();    // rl: D_f with random labels, with D_r
std::unique_ptr<Method> MakeL1Sparse();        // l1sparse: ft + decaying L1 penalty
std::unique_ptr<Method> MakeSalun();           // salun: rl on the salient weights only
std::unique_ptr<Method> MakeBoundaryShrink();  // bs: D_f relabelled by FGSM neighbours
std::unique_ptr<Method> MakeQmul();            // qmul: similar labels + adaptive reweighting
std::unique_ptr<Method> MakeOeu();             // oeu: orthogonal entropy unlearning

}  // namespace qf::unlearn
