// Options objects from JS (passed as JSON text) turned into engine option structs,
// with messages that use the JS names ("options.batchSize must be ..."). Validation of
// ranges lives with the engine (train::ValidateFitOptions); this file maps names and
// types and rejects unknown keys.
#pragma once

#include <initializer_list>
#include <string_view>

#include "core/status.h"
#include "core/json.h"
#include "nn/ptq.h"
#include "train/dataset.h"
#include "train/trainer.h"
#include "unlearn/method.h"

namespace qf::api {

// InvalidArgument naming the first key of `obj` (an object) not in `allowed`.
Status CheckKeys(const Json& obj, std::initializer_list<std::string_view> allowed,
                 std::string_view where);

// Parses JSON text that must be an object; `where` names it in messages.
StatusOr<Json> ParseOptions(std::string_view json, std::string_view where);

// fit() options: epochs, batchSize, lr, optimizer ('sgd' | 'adam'), momentum, nesterov,
// weightDecay, schedule ('constant' | 'step' | 'cosine' or {name, stepEpochs, gamma}),
// clipNorm, augment ({cropPadding, flip}), seed.
StatusOr<train::FitOptions> FitOptionsFromJson(const Json& options);

// quantize() options (besides the calibration samples): bits (8), scheme ('uniform'),
// activationBits (8), edgeBits (8), perChannel (true), method ('minmax' | 'percentile' |
// 'mse', default 'mse'), percentile (99.99), maxSamples (1024). See nn/ptq.h.
StatusOr<nn::PtqOptions> PtqOptionsFromJson(const Json& options);

// forget() options (besides the data): method, epochs, batchSize, lr, optimizer,
// momentum, nesterov, weightDecay, schedule, seed, qmulMode, qmulRetainScanBatches,
// qmulScanMode, qmulSimilarity (a rule's name or a numClasses x numClasses matrix, as
// numClasses arrays), l1Alpha, salunRatio, bsEpsilon.
// Writes the method's name to *method (default "qmul").
StatusOr<unlearn::UnlearnOptions> UnlearnOptionsFromJson(const Json& options,
                                                         std::string* method);

// A dataset handed over from JS: `shape` is [n, ...sample]; x holds n * sample values of
// `x_type` (uint8 pixels or float32 features, which must be finite), y n labels of
// `y_type` (uint8, uint16 or int32, each in [0, kMaxClasses)). Copies the values. `what`
// names it in messages ("dataset", "forget", ...).
StatusOr<train::Dataset> DatasetFromBuffers(const uint8_t* x, size_t x_len, DType x_type,
                                            const uint8_t* y, size_t y_len, DType y_type,
                                            const Json& shape, std::string_view what);

// InvalidArgument naming `what` and the first value of the n float32 values at `x` that
// is NaN or infinite; `x` is a byte pointer (any alignment).
Status CheckFinite(const uint8_t* x, size_t n, std::string_view what);

// n labels of `type` at `y` (uint8, uint16 or int32; any alignment) as Labels;
// InvalidArgument naming `what` and the first label outside [0, kMaxClasses).
StatusOr<std::vector<Label>> LabelsFromBuffer(const uint8_t* y, size_t n, DType type,
                                              std::string_view what);

}  // namespace qf::api
