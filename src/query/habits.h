// Habits users bring to the query language, and what to write instead.
//
// Two sources account for most first-try mistakes in Chinese CRM teams:
// a Chinese input method left in full-width mode (，（）＝ and ＡＮＤ are
// different code points from , ( ) = and AND) and SQL (`'杭州'`, `==`,
// `LIKE`, `WHERE`). The front end does not guess what such a query meant —
// a tag may legitimately be called 会员（金卡）— but when a query fails, the
// error says which habit is the likely cause and what the language expects.
#ifndef TAGINDEX_QUERY_HABITS_H_
#define TAGINDEX_QUERY_HABITS_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tagindex::query {

struct Habit {
  size_t offset = 0;  // byte offset of the habit inside the text examined
  std::string hint;   // "full-width \"，\" (U+FF0C, from a Chinese input method): write \",\""
};

// The first habit in one name or value as the user wrote it, or nullopt:
// full-width ASCII forms (U+FF01..U+FF5E), the ideographic comma 、,
// typographic quotes “”‘’, SQL single quotes around a name, and the SQL
// words LIKE, ILIKE, REGEXP, GLOB, SELECT, FROM, WHERE.
std::optional<Habit> FindHabit(std::string_view word);

// The first habit anywhere in a query's text outside "…" and 「…」 quotes.
std::optional<Habit> FindHabitInQuery(std::string_view text);

// `word` with full-width ASCII forms mapped to ASCII, the ideographic space
// to a space and SQL single quotes or typographic quotes around it removed: the name the user most
// likely meant ("'杭州'" -> "杭州", "ＶＩＰ" -> "VIP").
std::string WithoutHabits(std::string_view word);

}  // namespace tagindex::query

#endif  // TAGINDEX_QUERY_HABITS_H_
