// Streamed datasets: the window shuffle and the window of held samples.
#include "train/stream.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "core/check.h"

namespace qf::train {

std::vector<uint32_t> ShuffleOrder(size_t n, size_t window, Rng& rng) {
  std::vector<uint32_t> order(n);
  if (window == 0 || window >= n) {
    std::iota(order.begin(), order.end(), 0u);
    rng.Shuffle(order.data(), n);
    return order;
  }
  std::vector<uint32_t> buffer(window);
  std::iota(buffer.begin(), buffer.end(), 0u);
  uint32_t arrived = uint32_t(window);
  for (size_t k = 0; k < n; k++) {
    const uint32_t j = rng.Below(uint32_t(buffer.size()));
    order[k] = buffer[j];
    if (arrived < n) {
      buffer[j] = arrived++;
    } else {
      buffer[j] = buffer.back();
      buffer.pop_back();
    }
  }
  return order;
}

namespace {

// FNV-1a over a sample's bytes and its label.
uint32_t Checksum(const uint8_t* x, size_t bytes, Label y) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < bytes; i++) h = (h ^ x[i]) * 16777619u;
  for (int i = 0; i < 4; i++) h = (h ^ ((y >> (8 * i)) & 0xff)) * 16777619u;
  return h;
}

}  // namespace

SampleStream::SampleStream(Shape sample, DType input, size_t classes)
    : sample_(std::move(sample)), input_(input), classes_(classes) {}

Status SampleStream::Open(size_t window, size_t batch, const std::string& what) {
  if (!sealed_) return FailedPrecondition(what + ": the stream's first pass has not ended");
  if (!x_.empty()) return FailedPrecondition(what + ": the stream is read by another session");
  const size_t capacity = std::min(window + batch, size());
  const uint64_t bytes = uint64_t(capacity) * (sample_bytes() + sizeof(Label) + sizeof(int32_t)) +
                         uint64_t(size()) * sizeof(int32_t);
  QF_ASSIGN_OR_RETURN(memory_, ReserveMemory(bytes, "the " + what + " stream's window (shuffleWindow " +
                                                        std::to_string(window) + " + batchSize " +
                                                        std::to_string(batch) + " samples)"));
  slot_of_.assign(size(), -1);
  x_.resize(capacity * sample_bytes());
  y_.resize(capacity);
  free_.resize(capacity);
  std::iota(free_.rbegin(), free_.rend(), 0);  // slot 0 is taken first
  return OkStatus();
}

void SampleStream::Restart() {
  for (size_t i = 0; i < slot_of_.size(); i++) {
    if (slot_of_[i] >= 0) free_.push_back(slot_of_[i]);
  }
  std::fill(slot_of_.begin(), slot_of_.end(), -1);
  pass_++;
  next_ = wanted_ = 0;
  began_ = true;
}

void SampleStream::BeginPass() {
  if (!began_) Restart();
}

size_t SampleStream::Missing(const uint32_t* ids, size_t n) {
  QF_CHECK(sealed_ && !x_.empty());
  size_t until = 0;  // the missing samples lie before it
  bool gone = false;
  for (size_t i = 0; i < n; i++) {
    QF_CHECK(ids[i] < size());
    if (slot_of_[ids[i]] >= 0) continue;
    gone = gone || ids[i] < next_;
    until = std::max<size_t>(until, ids[i] + 1);
  }
  if (gone) {
    Restart();
    for (size_t i = 0; i < n; i++) until = std::max<size_t>(until, ids[i] + 1);
  }
  wanted_ = std::max(wanted_, until);
  return until > next_ ? until - next_ : 0;
}

SampleStream::Demand SampleStream::demand() const {
  return {pass_, next_, sealed_ ? wanted_ - std::min(wanted_, next_) : 0};
}

Status SampleStream::Push(const Dataset& batch, const std::string& what) {
  QF_RETURN_IF_ERROR(ValidateDataset(batch, sample_, input_, classes_, what));
  const size_t d = sample_bytes(), n = batch.size();
  if (!sealed_) {
    if (checksums_.size() + n > kMaxStreamSamples) {
      return InvalidArgument("a stream holds at most " + std::to_string(kMaxStreamSamples) +
                             " samples");
    }
    QF_ASSIGN_OR_RETURN(MemoryReservation more,
                        ReserveMemory(n * sizeof(uint32_t), "the stream's checksums"));
    checksum_memory_.Absorb(std::move(more));
    for (size_t i = 0; i < n; i++) {
      checksums_.push_back(Checksum(batch.x.data() + i * d, d, batch.y[i]));
    }
    return OkStatus();
  }
  if (n > wanted_ - next_) {
    return InvalidArgument("the stream was given " + std::to_string(n) + " samples at position " +
                           std::to_string(next_) + "; it waits for " +
                           std::to_string(wanted_ - next_));
  }
  if (n > free_.size()) {
    return Status(StatusCode::kInternal, "the stream's window of " + std::to_string(y_.size()) +
                    " samples cannot hold " + std::to_string(n) + " more (" +
                    std::to_string(y_.size() - free_.size()) + " held)");
  }
  for (size_t i = 0; i < n; i++, next_++) {
    const uint8_t* x = batch.x.data() + i * d;
    if (Checksum(x, d, batch.y[i]) != checksums_[next_]) {
      return DataLoss(what + ": sample " + std::to_string(next_) + " of the stream differs in pass " +
                      std::to_string(pass_) + " from the first pass: a stream must give the " +
                      "same samples in the same order every time it is iterated");
    }
    const int32_t slot = free_.back();
    free_.pop_back();
    std::copy(x, x + d, x_.begin() + size_t(slot) * d);
    y_[slot] = batch.y[i];
    slot_of_[next_] = slot;
  }
  began_ = began_ && n == 0;
  return OkStatus();
}

Status SampleStream::End(const std::string& what) {
  if (!sealed_) {
    if (checksums_.empty()) return InvalidArgument(what + ": the stream gave no samples");
    sealed_ = true;
    pass_ = 2;  // the next pass reads it again from its start
    return OkStatus();
  }
  if (next_ < wanted_) {
    return DataLoss(what + ": the stream ended after " + std::to_string(next_) + " samples in pass " +
                    std::to_string(pass_) + "; its first pass gave " + std::to_string(size()) +
                    ": a stream must start over each time it is iterated (an iterable, not an " +
                    "iterator or a generator object)");
  }
  return OkStatus();
}

void SampleStream::Take(uint32_t id, uint8_t* x, Label* y) {
  const int32_t slot = slot_of_[id];
  QF_CHECK(slot >= 0);
  const size_t d = sample_bytes();
  std::copy(x_.begin() + size_t(slot) * d, x_.begin() + size_t(slot + 1) * d, x);
  *y = y_[slot];
  slot_of_[id] = -1;
  free_.push_back(slot);
}

Status CheckStream(const SampleStream& stream, const nn::Model& model, const std::string& what) {
  if (!stream.sealed()) return FailedPrecondition(what + ": the stream's first pass has not ended");
  if (stream.input() != model.input_type() || stream.sample() != model.input_shape() ||
      stream.classes() > model.classes()) {
    return InvalidArgument(what + ": the stream was made for samples of shape " +
                           stream.sample().ToString() + " (" + DTypeName(stream.input()) +
                           "), labels < " + std::to_string(stream.classes()) +
                           "; the model takes " + model.input_shape().ToString() + " (" +
                           DTypeName(model.input_type()) + "), labels < " +
                           std::to_string(model.classes()));
  }
  return OkStatus();
}

}  // namespace qf::train
