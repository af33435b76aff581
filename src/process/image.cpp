#include "process/image.hpp"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "concurrent/futures/detail/process_call.hpp"
#include "concurrent/futures/detail/process_entry.hpp"
#include "process/fork_safety.hpp"

namespace concurrent::futures::detail {

namespace {

// ---- The main program as the loader sees it -----------------------------------------

struct Module {
  std::uintptr_t bias = 0;
  const ElfW(Phdr) * phdr = nullptr;
  ElfW(Half) phnum = 0;
  bool found = false;
};

// The first object dl_iterate_phdr reports is the main program.
Module main_program() {
  Module m;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) -> int {
        auto& out = *static_cast<Module*>(data);
        out.bias = info->dlpi_addr;
        out.phdr = info->dlpi_phdr;
        out.phnum = info->dlpi_phnum;
        out.found = true;
        return 1;
      },
      &m);
  return m;
}

bool loaded_contains(const Module& m, std::uintptr_t address) {
  for (ElfW(Half) i = 0; i < m.phnum; ++i) {
    const ElfW(Phdr)& p = m.phdr[i];
    if (p.p_type != PT_LOAD) continue;
    const std::uintptr_t begin = m.bias + p.p_vaddr;
    if (address >= begin && address < begin + p.p_memsz) return true;
  }
  return false;
}

std::string hex(const unsigned char* p, std::size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  return out;
}

std::string gnu_build_id(const Module& m) {
  for (ElfW(Half) i = 0; i < m.phnum; ++i) {
    const ElfW(Phdr)& p = m.phdr[i];
    if (p.p_type != PT_NOTE) continue;
    auto* at = reinterpret_cast<const unsigned char*>(m.bias + p.p_vaddr);
    const unsigned char* end = at + p.p_memsz;
    while (at + sizeof(ElfW(Nhdr)) <= end) {
      ElfW(Nhdr) note;
      std::memcpy(&note, at, sizeof note);
      const unsigned char* name = at + sizeof note;
      const unsigned char* desc = name + ((note.n_namesz + 3) & ~3U);
      const unsigned char* next = desc + ((note.n_descsz + 3) & ~3U);
      if (next > end) break;
      if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 &&
          std::memcmp(name, "GNU", 4) == 0) {
        return hex(desc, note.n_descsz);
      }
      at = next;
    }
  }
  return {};
}

// A read-only, process-lifetime mapping of /proc/self/exe (its fd is closed at once).
struct MappedExe {
  const unsigned char* data = nullptr;
  std::size_t size = 0;
};

const MappedExe& mapped_exe() {
  static const MappedExe exe = [] {
    MappedExe m;
    const int fd = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return m;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) {
      void* p =
          ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) {
        m.data = static_cast<const unsigned char*>(p);
        m.size = static_cast<std::size_t>(st.st_size);
      }
    }
    ::close(fd);
    return m;
  }();
  return exe;
}

std::string file_hash_id() {
  const MappedExe& exe = mapped_exe();
  if (exe.data == nullptr) return {};
  // FNV-1a over 8-byte words: only a fallback for binaries linked without a build id.
  std::uint64_t h = 1469598103934665603ULL;
  std::size_t i = 0;
  for (; i + 8 <= exe.size; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, exe.data + i, 8);
    h = (h ^ w) * 1099511628211ULL;
  }
  for (; i < exe.size; ++i) h = (h ^ exe.data[i]) * 1099511628211ULL;
  unsigned char bytes[8];
  std::memcpy(bytes, &h, 8);
  return fmt::format("sha:{}:{}", hex(bytes, 8), exe.size);
}

// ---- Function symbols -------------------------------------------------------------------

class SymbolTable {
 public:
  SymbolTable() {
    const Module m = main_program();
    const MappedExe& exe = mapped_exe();
    bias_ = m.bias;
    if (exe.data == nullptr || exe.size < sizeof(ElfW(Ehdr))) return;
    ElfW(Ehdr) eh;
    std::memcpy(&eh, exe.data, sizeof eh);
    if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_shentsize != sizeof(ElfW(Shdr)) ||
        eh.e_shoff == 0 || eh.e_shoff + std::uint64_t{eh.e_shnum} * sizeof(ElfW(Shdr)) > exe.size) {
      return;
    }
    auto* sections = reinterpret_cast<const ElfW(Shdr)*>(exe.data + eh.e_shoff);
    for (int pass = 0; pass < 2; ++pass) {  // .symtab first, then .dynsym
      const ElfW(Word) wanted = pass == 0 ? SHT_SYMTAB : SHT_DYNSYM;
      for (ElfW(Half) s = 0; s < eh.e_shnum; ++s) {
        const ElfW(Shdr)& sh = sections[s];
        if (sh.sh_type != wanted || sh.sh_link >= eh.e_shnum) continue;
        const ElfW(Shdr)& strtab = sections[sh.sh_link];
        if (sh.sh_offset + sh.sh_size > exe.size || strtab.sh_offset + strtab.sh_size > exe.size) {
          continue;
        }
        auto* syms = reinterpret_cast<const ElfW(Sym)*>(exe.data + sh.sh_offset);
        const char* names = reinterpret_cast<const char*>(exe.data + strtab.sh_offset);
        const std::size_t count = sh.sh_size / sizeof(ElfW(Sym));
        for (std::size_t i = 0; i < count; ++i) {
          const ElfW(Sym)& sym = syms[i];
          if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF ||
              sym.st_value == 0 || sym.st_name >= strtab.sh_size) {
            continue;
          }
          const char* name = names + sym.st_name;
          const std::size_t len = strnlen(name, strtab.sh_size - sym.st_name);
          add(std::string_view(name, len), bias_ + sym.st_value);
        }
      }
    }
  }

  std::string key_of(std::uintptr_t address) const {
    auto it = by_address_.find(address);
    if (it == by_address_.end()) return {};
    return it->second;
  }

  std::uintptr_t address_of(std::string_view key) const {
    std::string_view name = key;
    std::size_t ordinal = 0;
    if (const std::size_t hash = key.rfind('#'); hash != std::string_view::npos) {
      name = key.substr(0, hash);
      ordinal = 0;
      for (char c : key.substr(hash + 1)) {
        if (c < '0' || c > '9' || ordinal > 1000000) return 0;
        ordinal = ordinal * 10 + static_cast<std::size_t>(c - '0');
      }
    }
    auto it = by_name_.find(name);
    if (it == by_name_.end() || ordinal >= it->second.size()) return 0;
    return it->second[ordinal];
  }

 private:
  void add(std::string_view name, std::uintptr_t address) {
    if (name.empty()) return;
    std::vector<std::uintptr_t>& addresses = by_name_[name];
    for (std::uintptr_t a : addresses) {
      if (a == address) return;  // the same symbol seen in .symtab and .dynsym
    }
    // Local functions of different files can share a name; the ordinal tells them
    // apart, and is the same in every process that maps this very file.
    std::string key(name);
    // Appended piecewise: `"#" + std::to_string(n)` trips a false -Wrestrict in
    // g++ 12 at -O3 (GCC bug 105329).
    if (!addresses.empty()) {
      key += '#';
      key += std::to_string(addresses.size());
    }
    addresses.push_back(address);
    by_address_.emplace(address, std::move(key));
  }

  std::uintptr_t bias_ = 0;
  std::unordered_map<std::string_view, std::vector<std::uintptr_t>> by_name_;
  std::unordered_map<std::uintptr_t, std::string> by_address_;
};

const SymbolTable& symbols() {
  static const SymbolTable table;
  return table;
}

constexpr std::string_view kDynamicPrefix = "dyn:";

// ---- Entry registry --------------------------------------------------------------------

struct Registry {
  std::mutex mutex;
  std::unordered_map<std::string_view, EntryFn> entries;
  std::unordered_map<std::string_view, bool> ambiguous;
};

Registry& registry() {
  static auto* const r = [] {
    auto* created = new Registry();  // never destroyed: used until the process ends
    hold_across_fork(created->mutex);
    return created;
  }();
  return *r;
}

// Built during static initialization (the first entry does that too), so that its
// at-fork handling is in place before any thread can fork.
[[maybe_unused]] const bool g_registry_built = (registry(), true);

}  // namespace

void build_symbol_table() noexcept {
  try {
    (void)symbols();
  } catch (...) {  // out of memory: a later lookup will say what is missing
  }
}

const std::string& executable_build_id() noexcept {
  static const std::string id = []() -> std::string {
    try {
      std::string gnu = gnu_build_id(main_program());
      if (!gnu.empty()) return gnu;
      return file_hash_id();
    } catch (...) {
      return {};
    }
  }();
  return id;
}

bool register_process_entry(const char* key, EntryFn run) noexcept {
  try {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    auto [it, inserted] = r.entries.emplace(key, run);
    if (!inserted && it->second != run) r.ambiguous[key] = true;
  } catch (...) {
  }
  return true;
}

EntryFn find_process_entry(std::string_view key, bool* ambiguous) noexcept {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  if (ambiguous) *ambiguous = r.ambiguous.count(key) != 0;
  if (r.ambiguous.count(key) != 0) return nullptr;
  auto it = r.entries.find(key);
  return it == r.entries.end() ? nullptr : it->second;
}

void check_process_entry(const char* key) {
  bool ambiguous = false;
  if (find_process_entry(key, &ambiguous) == nullptr) {
    if (ambiguous) {
      throw std::logic_error(fmt::format(
          "ProcessPoolExecutor: two different callables share the entry name {} (types with "
          "the same name in anonymous namespaces of different files); give one of them another "
          "name or move it out of the anonymous namespace",
          key));
    }
    throw std::logic_error(
        fmt::format("ProcessPoolExecutor: the entry {} was not registered; this is a bug in "
                    "concurrent::futures",
                    key));
  }
}

std::string function_symbol_key(const void* fn) {
  const auto address = reinterpret_cast<std::uintptr_t>(fn);
  std::string key = symbols().key_of(address);
  if (!key.empty()) return key;
  Dl_info info{};
  if (::dladdr(fn, &info) != 0 && info.dli_saddr == fn && info.dli_sname != nullptr) {
    return std::string(kDynamicPrefix) + info.dli_sname;
  }
  throw std::invalid_argument(
      "ProcessPoolExecutor: the function at this address has no name in the executable's "
      "symbol tables (is the binary stripped?), so a worker process could not find it; "
      "wrap it in a captureless lambda, e.g. [](int x) { return f(x); }");
}

const void* resolve_function_symbol(std::string_view key) {
  if (key.substr(0, kDynamicPrefix.size()) == kDynamicPrefix) {
    const std::string name(key.substr(kDynamicPrefix.size()));
    void* p = ::dlsym(RTLD_DEFAULT, name.c_str());
    Dl_info info{};
    if (p != nullptr && ::dladdr(p, &info) != 0 && info.dli_saddr == p) return p;
  } else if (const std::uintptr_t address = symbols().address_of(key); address != 0) {
    return reinterpret_cast<const void*>(address);
  }
  throw std::invalid_argument(
      fmt::format("the worker process has no function named \"{}\"; the call was not run", key));
}

bool in_main_program(const void* address) noexcept {
  const Module m = main_program();
  return m.found && loaded_contains(m, reinterpret_cast<std::uintptr_t>(address));
}

bool run_initializers_after(void (*self)(int, char**, char**), int argc, char** argv,
                            char** envp) noexcept {
  using Init = void (*)(int, char**, char**);
  const Module m = main_program();
  if (!m.found) return false;
  const ElfW(Dyn)* dynamic = nullptr;
  for (ElfW(Half) i = 0; i < m.phnum; ++i) {
    if (m.phdr[i].p_type == PT_DYNAMIC) {
      dynamic = reinterpret_cast<const ElfW(Dyn)*>(m.bias + m.phdr[i].p_vaddr);
    }
  }
  if (dynamic == nullptr) return false;
  std::uintptr_t array = 0;
  std::size_t bytes = 0;
  for (const ElfW(Dyn)* d = dynamic; d->d_tag != DT_NULL; ++d) {
    if (d->d_tag == DT_INIT_ARRAY) array = d->d_un.d_ptr;
    if (d->d_tag == DT_INIT_ARRAYSZ) bytes = d->d_un.d_val;
  }
  if (array == 0) return false;
  // The loader leaves DT_INIT_ARRAY as a link-time address; tolerate one relocated
  // in place too.
  if (!loaded_contains(m, array)) array += m.bias;
  if (!loaded_contains(m, array)) return false;
  const auto* inits = reinterpret_cast<const Init*>(array);
  const std::size_t count = bytes / sizeof(Init);
  for (std::size_t i = 0; i < count; ++i) {
    if (inits[i] != self) continue;
    for (std::size_t j = i + 1; j < count; ++j) {
      if (inits[j] != nullptr && reinterpret_cast<std::uintptr_t>(inits[j]) != ~std::uintptr_t{0}) {
        inits[j](argc, argv, envp);
      }
    }
    return true;
  }
  return false;
}

}  // namespace concurrent::futures::detail
