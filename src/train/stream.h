// Datasets larger than memory: samples that arrive as a stream, in passes, of which the
// engine holds only a window at a time.
//
// The engine cannot pull from a stream (JS does, from an async iterable), so the flow is
// inverted: whoever runs a pass over a stream (a Trainer, an unlearning method) asks it
// for the samples of its next batch (Missing); when some have not arrived, the caller
// suspends, the embedder pushes the next samples of the stream (demand() says how many,
// and from which pass), and the caller resumes. A pass that wants a sample the stream has
// already gone by starts the stream over (a new pass: the embedder iterates its source
// again from the first sample).
//
// Memory stays bounded because every order the engine reads a stream in is a window
// shuffle (ShuffleOrder): the k-th sample it reads is among the first W + k to arrive, so
// a batch of B never needs more than W + B samples held at once.
//
// A stream's first pass (the counting pass) validates every sample, counts them and keeps
// a 32-bit checksum of each; every later pass must deliver the same samples in the same
// order (DataLoss otherwise), so that a streamed dataset trains exactly like the same
// samples in memory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/memory.h"
#include "core/random.h"
#include "core/status.h"
#include "nn/model.h"
#include "train/dataset.h"

namespace qf::train {

// The order in which an epoch reads n samples: a full Fisher-Yates shuffle when the whole
// set fits the window (window == 0 or >= n), else a shuffle buffer of `window` samples (the
// first `window` samples fill it; each next sample read is drawn uniformly from it, and the
// next sample to arrive takes its place). Both draw from `rng`.
std::vector<uint32_t> ShuffleOrder(size_t n, size_t window, Rng& rng);

// The window of a streamed dataset when the options give none, in samples.
constexpr size_t kStreamWindow = 1024;

class SampleStream {
 public:
  static constexpr size_t kMaxStreamSamples = size_t(1) << 31;  // positions are int32

  // A stream of samples of shape `sample` and type `input`, labels below `classes`, before
  // its counting pass.
  SampleStream(Shape sample, DType input, size_t classes);

  const Shape& sample() const { return sample_; }
  DType input() const { return input_; }
  size_t sample_bytes() const { return sample_.size() * SizeOf(input_); }
  // The number of samples (counted by the first pass); 0 while it runs.
  size_t size() const { return sealed_ ? checksums_.size() : 0; }
  bool sealed() const { return sealed_; }

  size_t classes() const { return classes_; }

  // Makes room for passes read in window shuffles of `window` samples, `batch` at a time:
  // at most window + batch samples held at once (reserved; `what` names the stream in
  // messages). FailedPrecondition before the counting pass ended or when opened already.
  Status Open(size_t window, size_t batch, const std::string& what);

  // Starts a pass: the next sample it asks for restarts the stream, unless no sample of
  // it has arrived since the last pass began.
  void BeginPass();
  // How many more samples must arrive before the samples `ids` (stream positions) can be
  // taken; 0 when all are held. Restarts the stream when one of them has gone by.
  size_t Missing(const uint32_t* ids, size_t n);

  // What the stream waits for: `count` samples from position `from` of pass `pass` (1 is
  // the counting pass; each later one iterates the source again from its start). count 0:
  // nothing (in the counting pass: any number, then End).
  struct Demand {
    uint64_t pass = 1;
    size_t from = 0;
    size_t count = 0;
  };
  Demand demand() const;

  // The next samples of the stream (a validated batch of this stream's shape and type). In
  // the counting pass they are counted and checksummed; later, held until taken, and
  // refused with DataLoss when they differ from the counting pass's.
  // `what` names the batch in messages.
  Status Push(const Dataset& batch, const std::string& what);
  // The source's pass ended: seals the counting pass (InvalidArgument when it was empty);
  // later, DataLoss when samples the pass waits for did not come. `what` names the stream.
  Status End(const std::string& what);

  // Copies held sample `id` (its bytes and label) out and lets it go.
  void Take(uint32_t id, uint8_t* x, Label* y);

 private:
  void Restart();

  Shape sample_;
  DType input_;
  size_t classes_;
  bool sealed_ = false;
  std::vector<uint32_t> checksums_;  // of each sample, from the counting pass
  MemoryReservation checksum_memory_;
  // Passes, once sealed.
  uint64_t pass_ = 1;  // 1: the counting pass
  size_t next_ = 0;     // position of the next sample to arrive in this pass
  size_t wanted_ = 0;   // samples the pass waits for: positions [next_, wanted_)
  bool began_ = true;   // nothing arrived since the pass began
  std::vector<int32_t> slot_of_;  // the slot holding each position, or -1
  std::vector<uint8_t> x_;        // capacity samples' bytes
  std::vector<Label> y_;
  std::vector<int32_t> free_;     // free slots
  MemoryReservation memory_;
};

// OK when `stream` (called `what`) is sealed and holds samples `model` takes.
Status CheckStream(const SampleStream& stream, const nn::Model& model, const std::string& what);

}  // namespace qf::train
