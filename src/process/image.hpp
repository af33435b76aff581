// Facts about the running executable that the process pool needs: its build id (the
// handshake that proves a worker runs the same program), the names of its functions
// (so a function pointer can travel by name), and its static initializers (so a worker
// can finish them before it starts work).
#pragma once

#include <string>

namespace concurrent::futures::detail {

// The executable's GNU build id in hex, or, if it was linked without one, "sha:" and a
// hash of its file. Computed once; never throws (an empty string if neither is known).
const std::string& executable_build_id() noexcept;

// Builds the table function_symbol_key() and resolve_function_symbol() use, if it is not
// built yet (it is built once, on first use). Never throws.
void build_symbol_table() noexcept;

// Runs the executable's static initializers that come after `self` (an entry of the
// executable's .init_array), in order, with the arguments the loader gives them.
// Returns false (having run nothing) if `self` is not found there.
bool run_initializers_after(void (*self)(int, char**, char**), int argc, char** argv,
                            char** envp) noexcept;

// Whether `address` lies in the executable itself (not in a shared library it loaded).
bool in_main_program(const void* address) noexcept;

}  // namespace concurrent::futures::detail
