// Factories of the unlearning methods, one file each (ft.cc, ga.cc, rl.cc, qmul.cc).
// Private to src/unlearn: everyone else goes through MakeMethod.
#pragma once

#include <memory>

#include "unlearn/method.h"

namespace qf::unlearn {

std::unique_ptr<Method> MakeFineTune();        // ft: cross-entropy on D_r
std::unique_ptr<Method> MakeGradientAscent();  // ga: minimize -CE on D_f
std::unique_ptr<Method> MakeRandomLabels();    // rl: D_f with random labels, with D_r
std::unique_ptr<Method> MakeQmul();            // qmul: similar labels + adaptive reweighting

}  // namespace qf::unlearn
