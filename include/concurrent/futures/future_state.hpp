// FutureState, the four states of a Future (future.hpp), and their names.
//
// Its own header because the shared state (detail/future_core.hpp) needs it before
// future.hpp can declare Future; include future.hpp, which includes this.
//
// State machine (who may make each transition):
//
//              cancel()  [any thread]
//     PENDING ─────────────────────────────────────────────► CANCELLED
//        │  ▲                                                    ▲
//        │  └─ set_running_or_notify_cancel() returns false ─────┘ (no change)
//        │
//        ├── set_running_or_notify_cancel() [the executor] ──► RUNNING
//        │                                                       │
//        ├── set_result / set_exception [the Promise] ──┐        │
//        │                                              ▼        │
//        └──────────────────────────────────────────► FINISHED ◄─┘
//                                                 set_result / set_exception
//
// CANCELLED and FINISHED are final: every later completion throws InvalidStateError.
// Unlike CPython (gh-92001) there is no separate "cancelled and notified" state:
// waiters and callbacks hear of a cancellation the moment cancel() succeeds.
#pragma once

namespace concurrent::futures {

enum class FutureState : unsigned char { pending, running, cancelled, finished };

// "pending", "running", "cancelled" or "finished", as Python's repr() spells them.
const char* to_string(FutureState state) noexcept;

}  // namespace concurrent::futures
