// Helpers shared by the extension's C++ files: error strings and the catch
// clauses that keep C++ exceptions from crossing the C boundary.
#pragma once

#include <c10/util/Exception.h>

#include <cstdlib>
#include <cstring>
#include <string>

inline char *dd_strdup(const std::string &s) {
  char *p = (char *)std::malloc(s.size() + 1);
  std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

inline const char *dd_err(const std::string &s) { return dd_strdup(s.empty() ? "unknown libtorch error" : s); }

// Interned strings live for the process, so they can be returned without an
// ownership transfer (named-tuple field names).
const char *dd_intern(const std::string &s);

// c10::Error carries a C++ backtrace in what(); users need only the message.
#define DD_CATCH                                                           \
  catch (const c10::Error &e) {                                            \
    return dd_err(e.what_without_backtrace());                             \
  }                                                                        \
  catch (const std::exception &e) {                                        \
    return dd_err(e.what());                                               \
  }                                                                        \
  catch (...) {                                                            \
    return dd_err("unknown C++ exception in libtorch");                    \
  }
