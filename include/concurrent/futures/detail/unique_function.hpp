// A move-only `void()` callable: what a work queue holds and what a future's
// done-callbacks list holds. std::function needs copyable targets, and tasks own
// move-only Promises; std::move_only_function is C++23.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace concurrent::futures::detail {

class UniqueFunction {
 public:
  UniqueFunction() = default;

  // A callable converts to a function, implicitly; the requires-clause keeps the move
  // constructor in charge of moving a UniqueFunction.
  // NOLINTBEGIN(google-explicit-constructor,bugprone-forwarding-reference-overload)
  template <class F>
  requires(!std::is_same_v<std::decay_t<F>, UniqueFunction> &&
           std::is_invocable_v<std::decay_t<F>&>) UniqueFunction(F&& f)
      : callable_(std::make_unique<Model<std::decay_t<F>>>(std::forward<F>(f))) {}
  // NOLINTEND(google-explicit-constructor,bugprone-forwarding-reference-overload)

  explicit operator bool() const noexcept { return callable_ != nullptr; }
  void operator()() { callable_->call(); }

 private:
  struct Concept {
    virtual ~Concept() = default;
    virtual void call() = 0;
  };
  template <class F>
  struct Model final : Concept {
    explicit Model(F&& f) : f_(std::move(f)) {}
    explicit Model(const F& f) : f_(f) {}
    void call() override { f_(); }
    F f_;
  };

  std::unique_ptr<Concept> callable_;
};

}  // namespace concurrent::futures::detail
