// Status propagation macros. The Abseil version on Debian 12 has none.
#ifndef TAGINDEX_UTIL_STATUS_MACROS_H_
#define TAGINDEX_UTIL_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TI_INTERNAL_CONCAT_(a, b) a##b
#define TI_INTERNAL_CONCAT(a, b) TI_INTERNAL_CONCAT_(a, b)

// Evaluates `expr` (an absl::Status) and returns it from the enclosing
// function if it is not OK.
#define TI_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status ti_status_ = (expr);      \
    if (!ti_status_.ok()) return ti_status_; \
  } while (false)

// `TI_ASSIGN_OR_RETURN(auto x, Foo());` evaluates Foo() (an absl::StatusOr),
// returns its status if not OK, otherwise moves its value into `lhs`.
#define TI_ASSIGN_OR_RETURN(lhs, rexpr) \
  TI_INTERNAL_ASSIGN_OR_RETURN(TI_INTERNAL_CONCAT(ti_statusor_, __LINE__), lhs, rexpr)

#define TI_INTERNAL_ASSIGN_OR_RETURN(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                 \
  if (!tmp.ok()) return std::move(tmp).status();      \
  lhs = std::move(tmp).value()

#endif  // TAGINDEX_UTIL_STATUS_MACROS_H_
