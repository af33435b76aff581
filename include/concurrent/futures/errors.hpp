// The library's exception types, and the handler that hears about errors nobody can
// catch (a done-callback that throws, an initializer that fails).
//
// Every `what()` is a full sentence that says what happened and what to do about it.
// The hierarchy mirrors Python's `concurrent.futures`:
//
//   std::runtime_error
//   ├── Error                     the library's own errors
//   │   ├── CancelledError        result()/exception() on a cancelled future
//   │   ├── TimeoutError          a timed wait ran out
//   │   ├── InvalidStateError     completing a finished future, and similar misuse
//   │   ├── BrokenPromise         the Promise died without completing its future
//   │   ├── RemoteError           a worker process threw a type the parent cannot rebuild
//   │   └── WorkerDied            the worker process running the call died (a pool that
//   │                             replaces dead workers fails only that call with it)
//   └── BrokenExecutor            an executor can no longer run work
//       ├── BrokenThreadPool      a worker thread's initializer threw
//       └── BrokenProcessPool     a worker process died or sent an unreadable message
#pragma once

#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace concurrent::futures {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class CancelledError : public Error {
 public:
  CancelledError();
  using Error::Error;
};

class TimeoutError : public Error {
 public:
  TimeoutError();
  using Error::Error;
};

class InvalidStateError : public Error {
 public:
  using Error::Error;
};

class BrokenPromise : public Error {
 public:
  BrokenPromise();
  using Error::Error;
};

// An exception thrown in a worker process whose type the parent cannot rebuild.
// `type_name()` is the original (demangled) type name, `what()` its message.
class RemoteError : public Error {
 public:
  RemoteError(std::string type_name, const std::string& message);

  const std::string& type_name() const noexcept { return type_name_; }

 private:
  std::string type_name_;
};

// The worker process running a call died while it ran (a signal, exit(), abort()). A
// ProcessPoolExecutor with OnWorkerDeath::replace fails exactly that call with it and goes
// on with a new worker; with OnWorkerDeath::break_pool the call fails with
// BrokenProcessPool, which carries a WorkerDied as its nested exception
// (std::rethrow_if_nested). Not a BrokenExecutor: the executor still works.
class WorkerDied : public Error {
 public:
  WorkerDied(const std::string& message, int pid, int signal, int exit_code);

  int pid() const noexcept { return pid_; }
  // The signal that killed the worker, 0 if it exited.
  int signal() const noexcept { return signal_; }
  // Its exit status, -1 if a signal killed it (or how it ended is unknown).
  int exit_code() const noexcept { return exit_code_; }

 private:
  int pid_;
  int signal_;
  int exit_code_;
};

// The name of the type `e` had where it was thrown. An exception from a worker process
// of a type derived from a standard one comes back as that standard type (a
// `struct BadConfig : std::invalid_argument` is caught as std::invalid_argument), and
// this names the original ("BadConfig", demangled); for a RemoteError it is
// type_name(); for anything else, the demangled name of e's dynamic type.
std::string original_type_name(const std::exception& e);

class BrokenExecutor : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class BrokenThreadPool : public BrokenExecutor {
 public:
  using BrokenExecutor::BrokenExecutor;
};

class BrokenProcessPool : public BrokenExecutor {
 public:
  using BrokenExecutor::BrokenExecutor;
};

// Receives errors that have no caller to propagate to: a done-callback that threw, an
// initializer that failed. `context` says where it happened ("done-callback", ...).
// The handler may be called from any thread, concurrently; it must not throw.
using ErrorHandler = std::function<void(std::exception_ptr error, std::string_view context)>;

// Installs `handler` (an empty one restores the default, which writes one line to
// stderr) and returns the previous handler. Thread-safe.
ErrorHandler set_error_handler(ErrorHandler handler);

// Sends `error` to the installed handler. Never throws: a handler that throws is
// ignored, and a second line goes to stderr.
void report_error(const std::exception_ptr& error, std::string_view context) noexcept;

// The message of any exception_ptr: `what()` for std::exception, a fixed sentence
// otherwise. Never throws.
std::string describe(const std::exception_ptr& error) noexcept;

}  // namespace concurrent::futures
