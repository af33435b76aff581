// What keeps StartMethod::fork safe while other threads use the library. A forked child
// has only the thread that forked, and inherits every lock and every half-built static
// as it was at that instant: a lock another thread held stays held forever in the child,
// and a function-local static another thread was building is "being built" forever.
// So every process-wide table a worker consults is either built before the pool forks
// (prepare_to_fork) or guarded by a mutex that fork() itself waits for
// (hold_across_fork).
#pragma once

#include <mutex>
#include <stdexcept>
#include <string_view>

namespace concurrent::futures::detail {

// Makes every fork() of this process wait until no thread holds `mutex`, and hold it
// across the fork (pthread_atfork), so that parent and child both find it unlocked.
// For mutexes that live until the process ends; call once per mutex. Thread-safe.
void hold_across_fork(std::mutex& mutex) noexcept;

// Called by the pool before it forks workers: builds what a worker may look up (the
// executable's build id and symbol table, the registries) so that nothing is half-built
// in a child, and flushes the standard streams so that no child inherits (and later
// prints again) output the parent had buffered.
void prepare_to_fork() noexcept;

// The error for an option that makes the pool replace workers, used with
// StartMethod::fork: replacing a worker would mean forking a process that has threads
// (gh-90622). `option` names the option; `how`, if not empty, says how it comes to
// replace workers, as a clause that "replacing a worker would mean ..." continues.
std::invalid_argument fork_cannot_replace_workers(std::string_view option,
                                                  std::string_view how = {});

// Flushes std::cout, std::cerr, std::clog, stdout and stderr, as Python flushes
// sys.stdout and sys.stderr before a worker exits and before it forks. Only these: a
// stream another thread is blocked reading (stdin) would block a flush of every stream.
void flush_standard_streams() noexcept;

}  // namespace concurrent::futures::detail
