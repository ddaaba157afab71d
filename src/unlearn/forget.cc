// Atomic forget sessions.
#include "unlearn/forget.h"

#include "core/check.h"
#include "nn/state_snapshot.h"

namespace qf::unlearn {

StatusOr<std::unique_ptr<ForgetSession>> ForgetSession::Start(nn::Model& model,
                                                              ForgetRequest request) {
  QF_ASSIGN_OR_RETURN(std::unique_ptr<Method> method, MakeMethod(request.method));
  QF_RETURN_IF_ERROR(ValidateUnlearnOptions(request.options));
  QF_RETURN_IF_ERROR(ValidateUnlearnOptionsFor(request.options, model.classes()));
  QF_RETURN_IF_ERROR(
      train::ValidateDataset(request.forget, model.input_shape(), model.input_type(), model.classes(), "forget"));
  if (request.retain_stream) {
    QF_RETURN_IF_ERROR(train::CheckStream(*request.retain_stream, model, "retain"));
    if (request.options.shuffle_window == 0) request.options.shuffle_window = train::kStreamWindow;
    QF_RETURN_IF_ERROR(request.retain_stream->Open(request.options.shuffle_window,
                                                   request.options.batch_size, "retain"));
  }
  const size_t retain =
      request.retain_stream ? request.retain_stream->size() : request.retain.size();
  if (method->uses_retain() && retain == 0) {
    return InvalidArgument(std::string("retain is required by ") + method->name() +
                           ": the training data that stays, or a sample of it (ga and bs "
                           "run without it)");
  }
  if (request.retain.size() > 0) {
    QF_RETURN_IF_ERROR(
        train::ValidateDataset(request.retain, model.input_shape(), model.input_type(), model.classes(), "retain"));
  }
  QF_RETURN_IF_ERROR(
      ValidateStopRule(request.options.until, request.forget.size(), request.holdout.size()));
  if (request.holdout.size() > 0) {
    QF_RETURN_IF_ERROR(train::ValidateDataset(request.holdout, model.input_shape(),
                                              model.input_type(), model.classes(), "holdout"));
  }
  std::unique_ptr<ForgetSession> session(new ForgetSession());
  session->request_ = std::move(request);
  QF_ASSIGN_OR_RETURN(session->working_, model.Copy());
  MethodContext& ctx = session->ctx_;
  ctx.model = session->working_.get();
  ctx.forget = &session->request_.forget;
  ctx.retain = &session->request_.retain;
  ctx.retain_stream = session->request_.retain_stream.get();
  ctx.holdout = &session->request_.holdout;
  ctx.options = session->request_.options;
  ctx.rng = Rng(ctx.options.seed);
  QF_ASSIGN_OR_RETURN(ctx.optimizer, train::MakeOptimizer(ctx.options.optimizer));
  session->method_ = std::move(method);
  QF_RETURN_IF_ERROR(session->method_->Begin(ctx));
  return session;
}

Status ForgetSession::Step(size_t max_batches, std::vector<EpochReport>* reports) {
  QF_CHECK(working_);
  if (failed_) return FailedPrecondition("this forget session failed and ended");
  Status status = method_->Step(ctx_, max_batches, reports);
  if (status.ok() && method_->done()) {
    if (!nn::StateIsFinite(*working_)) {
      status = FailedPrecondition(
          "unlearning diverged: a weight is not finite at the end (try a smaller lr)");
    } else {
      // What the forget removed from the integer model must not survive below its grid.
      nn::SnapShadowWeights(*working_);
    }
  }
  failed_ = !status.ok();
  return status;
}

std::unique_ptr<nn::Model> ForgetSession::TakeResult() {
  QF_CHECK(done() && working_);
  return std::move(working_);
}

}  // namespace qf::unlearn
