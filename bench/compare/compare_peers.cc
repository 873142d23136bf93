// SQLite, PostgreSQL and Redis sides of bench/compare.sh (one binary; it
// does not link tagindex). Each is configured as its documentation
// recommends for this job and queried warm:
//
//   compare_peers sqlite   DATA QUERIES --work DIR [--subset queried]
//   compare_peers postgres DATA QUERIES --port P [--subset queried]
//   compare_peers redis    DATA QUERIES --port P
// sqlite and postgres also take --attrs ATTRS.bin --attr-queries FILE: the
// attribute shapes (compare_data.h) over a table ca(id, <columns>).
//
// SQL: a customer-tag table ct(tag, customer) with PRIMARY KEY (tag,
// customer) (SQLite: WITHOUT ROWID) and an index on customer; every query
// is timed in two forms, INTERSECT/EXCEPT and EXISTS/NOT EXISTS (driven by
// the rarest positive tag), and both are reported (the driver keeps the
// faster). PostgreSQL also gets the array form cust(id, tags int[]) with a
// GIN index (reported as postgres_gin). Redis: one bitmap per tag (a string
// of N bits), BITOP / BITCOUNT pipelined in one round trip.
// --subset queried loads only the tags the queries name (for 10 M runs).
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "compare_data.h"

namespace {

using compare::Data;
using compare::Die;
using compare::Query;
using compare::Result;

std::string List(const std::vector<uint32_t>& tags, size_t from, size_t to) {
  std::string s;
  for (size_t i = from; i < to; ++i) s += (i > from ? "," : "") + std::to_string(tags[i]);
  return s;
}

// Which tags to load: all, or those the queries name.
std::vector<bool> Loaded(const compare::Args& args, const Data& data,
                         const std::vector<Query>& queries) {
  const std::string subset = compare::Option(args, "--subset", "all");
  std::vector<bool> keep(data.tags.size(), subset == "all");
  if (subset == "queried") {
    for (const Query& q : queries) {
      for (uint32_t t : q.tags) keep[t] = true;
    }
  } else if (subset != "all") {
    Die("--subset must be all or queried");
  }
  return keep;
}

uint64_t LoadedAssignments(const Data& data, const std::vector<bool>& keep) {
  uint64_t n = 0;
  for (size_t t = 0; t < data.tags.size(); ++t) n += keep[t] ? data.tags[t].size() : 0;
  return n;
}

// ---- SQL text of both forms ------------------------------------------------

std::string Members(uint32_t tag) {
  return "SELECT customer FROM ct WHERE tag = " + std::to_string(tag);
}

// INTERSECT / EXCEPT form. `select` is "count(*)" or "customer".
std::string SetForm(const Query& q, bool count) {
  const auto& t = q.tags;
  std::string body;
  if (q.shape == "and2" || q.shape == "andall") {
    for (size_t i = 0; i < t.size(); ++i) body += (i ? " INTERSECT " : "") + Members(t[i]);
  } else if (q.shape == "andnot3" || q.shape == "mat3") {
    body = Members(t[0]) + " INTERSECT " + Members(t[1]) + " EXCEPT " + Members(t[2]);
  } else if (q.shape == "andor") {
    body = Members(t[0]) + " INTERSECT SELECT customer FROM ct WHERE tag IN (" +
           List(t, 1, t.size()) + ")";
  } else {
    Die("sql: unsupported shape " + q.shape);
  }
  return std::string("SELECT ") + (count ? "count(*)" : "customer") + " FROM (" + body + ") s";
}

std::string Exists(uint32_t tag) {
  return "EXISTS (SELECT 1 FROM ct b WHERE b.customer = a.customer AND b.tag = " +
         std::to_string(tag) + ")";
}

// EXISTS / NOT EXISTS form, driven by the rarest positive tag.
std::string ExistsForm(const Query& q, bool count, const Data& data) {
  const auto& t = q.tags;
  std::vector<uint32_t> pos;
  std::string extra;
  if (q.shape == "and2" || q.shape == "andall") {
    pos = t;
  } else if (q.shape == "andnot3" || q.shape == "mat3") {
    pos = {t[0], t[1]};
    extra = " AND NOT " + Exists(t[2]);
  } else if (q.shape == "andor") {
    pos = {t[0]};
    extra = " AND EXISTS (SELECT 1 FROM ct b WHERE b.customer = a.customer AND b.tag IN (" +
            List(t, 1, t.size()) + "))";
  } else {
    Die("sql: unsupported shape " + q.shape);
  }
  std::stable_sort(pos.begin(), pos.end(), [&](uint32_t x, uint32_t y) {
    return data.tags[x].size() < data.tags[y].size();
  });
  std::string where = "a.tag = " + std::to_string(pos[0]);
  for (size_t i = 1; i < pos.size(); ++i) where += " AND " + Exists(pos[i]);
  return std::string("SELECT ") + (count ? "count(*)" : "a.customer") + " FROM ct a WHERE " +
         where + extra;
}

// PostgreSQL int[] + GIN form.
std::string ArrayForm(const Query& q, bool count) {
  const auto& t = q.tags;
  std::string where;
  if (q.shape == "and2" || q.shape == "andall") {
    where = "tags @> ARRAY[" + List(t, 0, t.size()) + "]";
  } else if (q.shape == "andnot3" || q.shape == "mat3") {
    where = "tags @> ARRAY[" + List(t, 0, 2) + "] AND NOT tags @> ARRAY[" + List(t, 2, 3) + "]";
  } else if (q.shape == "andor") {
    where = "tags @> ARRAY[" + List(t, 0, 1) + "] AND tags && ARRAY[" + List(t, 1, t.size()) + "]";
  } else {
    Die("sql: unsupported shape " + q.shape);
  }
  return std::string("SELECT ") + (count ? "count(*)" : "id") + " FROM cust WHERE " + where;
}

// ---- SQLite -------------------------------------------------------------------

void SqlExec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    Die("sqlite: " + sql + ": " + (err ? err : "?"));
  }
}

Result SqliteRun(sqlite3* db, const std::string& sql, bool count) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    Die("sqlite: prepare " + sql + ": " + sqlite3_errmsg(db));
  }
  Result r;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const uint64_t v = static_cast<uint64_t>(sqlite3_column_int64(st, 0));
    if (count) {
      r.count = v;
    } else {
      r.count += 1;
      r.checksum += v;
    }
  }
  if (rc != SQLITE_DONE) Die("sqlite: " + sql + ": " + sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return r;
}

// count [, sum] of an attribute query (compare::AttrSql).
Result SqliteAttrRun(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    Die("sqlite: prepare " + sql + ": " + sqlite3_errmsg(db));
  }
  Result r;
  if (sqlite3_step(st) != SQLITE_ROW) Die("sqlite: " + sql + ": " + sqlite3_errmsg(db));
  r.count = static_cast<uint64_t>(sqlite3_column_int64(st, 0));
  if (sqlite3_column_count(st) > 1) r.checksum = static_cast<uint64_t>(sqlite3_column_int64(st, 1));
  sqlite3_finalize(st);
  return r;
}

// The attribute shapes (--attrs, --attr-queries): a table ca(id INTEGER
// PRIMARY KEY, <column> INTEGER, ...) with a B-tree index per column (the
// indexes a competent user creates for range filters), joined to ct.
void SqliteAttributes(sqlite3* db, const compare::Args& args, const Data& data) {
  const std::optional<compare::AttrWorkload> w =
      compare::ReadAttrWorkload(args, data.customers, data.tags.size());
  if (!w) return;
  const compare::Attrs& attrs = w->attrs;
  const double load_s = compare::Seconds([&] {
    std::string create = "CREATE TABLE ca (id INTEGER PRIMARY KEY";
    std::string insert = "INSERT INTO ca VALUES (?";
    for (const compare::Column& c : attrs.columns) {
      create += ", " + c.name + " INTEGER";
      insert += ", ?";
    }
    SqlExec(db, create + ")");
    SqlExec(db, "BEGIN");
    sqlite3_stmt* ins = nullptr;
    sqlite3_prepare_v2(db, (insert + ")").c_str(), -1, &ins, nullptr);
    for (uint32_t r = 0; r < attrs.customers; ++r) {
      sqlite3_bind_int64(ins, 1, r);
      for (size_t i = 0; i < attrs.columns.size(); ++i) {
        const compare::Column& c = attrs.columns[i];
        const int slot = static_cast<int>(i) + 2;
        if (c.present[r]) {
          sqlite3_bind_int64(ins, slot, c.values[r]);
        } else {
          sqlite3_bind_null(ins, slot);
        }
      }
      if (sqlite3_step(ins) != SQLITE_DONE)
        Die(std::string("sqlite: insert ca: ") + sqlite3_errmsg(db));
      sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    SqlExec(db, "COMMIT");
    for (const compare::Column& c : attrs.columns) {
      SqlExec(db, "CREATE INDEX ca_" + c.name + " ON ca (" + c.name + ")");
    }
    SqlExec(db, "ANALYZE");
  });
  compare::PrintFacts("sqlite", "attr_load", {{"load_s", load_s}});
  compare::TimeAttrForms("sqlite", *w, args,
                         [&](const std::string& sql) { return SqliteAttrRun(db, sql); });
}

int Sqlite(const compare::Args& args, const Data& data, const std::vector<Query>& queries) {
  if (args.work.empty()) Die("--work DIR is required");
  const std::string path = args.work + "/sqlite.db";
  std::remove(path.c_str());
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) Die("sqlite: cannot open " + path);
  const std::vector<bool> keep = Loaded(args, data, queries);
  const double load_s = compare::Seconds([&] {
    SqlExec(db, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;");
    SqlExec(db,
            "CREATE TABLE ct (tag INTEGER NOT NULL, customer INTEGER NOT NULL, "
            "PRIMARY KEY (tag, customer)) WITHOUT ROWID");
    SqlExec(db, "BEGIN");
    sqlite3_stmt* ins = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO ct VALUES (?, ?)", -1, &ins, nullptr);
    for (size_t t = 0; t < data.tags.size(); ++t) {
      if (!keep[t]) continue;
      for (uint32_t row : data.tags[t]) {
        sqlite3_bind_int64(ins, 1, static_cast<int64_t>(t));
        sqlite3_bind_int64(ins, 2, row);
        if (sqlite3_step(ins) != SQLITE_DONE)
          Die(std::string("sqlite: insert: ") + sqlite3_errmsg(db));
        sqlite3_reset(ins);
      }
    }
    sqlite3_finalize(ins);
    SqlExec(db, "COMMIT");
    SqlExec(db, "CREATE INDEX ct_customer ON ct (customer)");
    SqlExec(db, "ANALYZE");
  });
  SqlExec(db, "PRAGMA cache_size = -4000000; PRAGMA mmap_size = 8000000000;");
  struct stat st;
  const double bytes = stat(path.c_str(), &st) == 0 ? static_cast<double>(st.st_size) : 0;
  const double assignments = static_cast<double>(LoadedAssignments(data, keep));
  compare::PrintFacts("sqlite", "load",
                      {{"load_s", load_s},
                       {"storage_bytes", bytes},
                       {"assignments", assignments},
                       {"bytes_per_assignment", bytes / assignments}},
                      {{"version", sqlite3_libversion()}});
  const compare::Query floor{"floor", "floor", "", {}};
  compare::PrintQuery(
      "sqlite", floor, {},
      compare::Time([&] { SqliteRun(db, "SELECT 1", true); }, args.reps, args.budget));
  for (const Query& q : queries) {
    const bool count = q.shape != "mat3";
    for (int form = 0; form < 2; ++form) {
      const std::string sql = form == 0 ? SetForm(q, count) : ExistsForm(q, count, data);
      Result r;
      const compare::Timing t =
          compare::Time([&] { r = SqliteRun(db, sql, count); }, args.reps, args.budget);
      compare::PrintQuery("sqlite", q, r, t, form == 0 ? "intersect" : "exists");
    }
  }
  SqliteAttributes(db, args, data);
  sqlite3_close(db);
  return 0;
}

// ---- PostgreSQL ----------------------------------------------------------------

void PgExec(PGconn* c, const std::string& sql) {
  PGresult* res = PQexec(c, sql.c_str());
  const ExecStatusType s = PQresultStatus(res);
  if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
    Die("postgres: " + sql + ": " + PQerrorMessage(c));
  }
  PQclear(res);
}

Result PgRun(PGconn* c, const std::string& sql, bool count) {
  PGresult* res = PQexec(c, sql.c_str());
  if (PQresultStatus(res) != PGRES_TUPLES_OK) Die("postgres: " + sql + ": " + PQerrorMessage(c));
  Result r;
  const int n = PQntuples(res);
  if (count) {
    r.count = std::strtoull(PQgetvalue(res, 0, 0), nullptr, 10);
  } else {
    r.count = static_cast<uint64_t>(n);
    for (int i = 0; i < n; ++i) r.checksum += std::strtoull(PQgetvalue(res, i, 0), nullptr, 10);
  }
  PQclear(res);
  return r;
}

double PgSize(PGconn* c, const std::string& table) {
  PGresult* res = PQexec(c, ("SELECT pg_total_relation_size('" + table + "')").c_str());
  if (PQresultStatus(res) != PGRES_TUPLES_OK)
    Die(std::string("postgres: size: ") + PQerrorMessage(c));
  const double v = std::atof(PQgetvalue(res, 0, 0));
  PQclear(res);
  return v;
}

Result PgAttrRun(PGconn* c, const std::string& sql) {
  PGresult* res = PQexec(c, sql.c_str());
  if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
    Die("postgres: " + sql + ": " + PQerrorMessage(c));
  }
  Result r;
  r.count = std::strtoull(PQgetvalue(res, 0, 0), nullptr, 10);
  if (PQnfields(res) > 1) r.checksum = std::strtoull(PQgetvalue(res, 0, 1), nullptr, 10);
  PQclear(res);
  return r;
}

// The attribute shapes, as for SQLite: ca(id PRIMARY KEY, <column> bigint,
// ...) loaded with COPY, a B-tree index per column, VACUUM ANALYZE.
void PgAttributes(PGconn* c, const compare::Args& args, const Data& data) {
  const std::optional<compare::AttrWorkload> w =
      compare::ReadAttrWorkload(args, data.customers, data.tags.size());
  if (!w) return;
  const compare::Attrs& attrs = w->attrs;
  PgExec(c, "DROP TABLE IF EXISTS ca");
  const double load_s = compare::Seconds([&] {
    std::string create = "CREATE TABLE ca (id integer NOT NULL";
    for (const compare::Column& col : attrs.columns) create += ", " + col.name + " bigint";
    PgExec(c, create + ")");
    PGresult* res = PQexec(c, "COPY ca FROM STDIN (FORMAT csv)");
    if (PQresultStatus(res) != PGRES_COPY_IN)
      Die(std::string("postgres: COPY ca: ") + PQerrorMessage(c));
    PQclear(res);
    std::string buf;
    for (uint32_t r = 0; r < attrs.customers; ++r) {
      buf += std::to_string(r);
      for (const compare::Column& col : attrs.columns) {
        buf += ',';
        if (col.present[r]) buf += std::to_string(col.values[r]);  // empty = NULL in csv
      }
      buf += '\n';
      if (buf.size() > (1 << 20)) {
        if (PQputCopyData(c, buf.data(), static_cast<int>(buf.size())) != 1) Die("postgres: copy");
        buf.clear();
      }
    }
    if (!buf.empty() && PQputCopyData(c, buf.data(), static_cast<int>(buf.size())) != 1) {
      Die("postgres: copy");
    }
    if (PQputCopyEnd(c, nullptr) != 1) Die("postgres: copy end");
    res = PQgetResult(c);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
      Die(std::string("postgres: COPY ca: ") + PQerrorMessage(c));
    PQclear(res);
    while ((res = PQgetResult(c)) != nullptr) PQclear(res);
    PgExec(c, "ALTER TABLE ca ADD PRIMARY KEY (id)");
    for (const compare::Column& col : attrs.columns) {
      PgExec(c, "CREATE INDEX ca_" + col.name + " ON ca (" + col.name + ")");
    }
    PgExec(c, "VACUUM ANALYZE ca");
  });
  compare::PrintFacts("postgres", "attr_load",
                      {{"load_s", load_s}, {"storage_bytes", PgSize(c, "ca")}});
  compare::TimeAttrForms("postgres", *w, args,
                         [&](const std::string& sql) { return PgAttrRun(c, sql); });
  PgExec(c, "DROP TABLE ca");
}

int Postgres(const compare::Args& args, const Data& data, const std::vector<Query>& queries) {
  const std::string conninfo = "host=127.0.0.1 port=" + compare::Option(args, "--port", "55432") +
                               " user=postgres dbname=postgres";
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) Die("postgres: connect: " + std::string(PQerrorMessage(c)));
  const std::vector<bool> keep = Loaded(args, data, queries);
  PgExec(c, "DROP TABLE IF EXISTS ct; DROP TABLE IF EXISTS cust;");
  const double load_s = compare::Seconds([&] {
    PgExec(c, "CREATE TABLE ct (tag integer NOT NULL, customer integer NOT NULL)");
    PGresult* res = PQexec(c, "COPY ct (tag, customer) FROM STDIN");
    if (PQresultStatus(res) != PGRES_COPY_IN)
      Die(std::string("postgres: COPY: ") + PQerrorMessage(c));
    PQclear(res);
    std::string buf;
    for (size_t t = 0; t < data.tags.size(); ++t) {
      if (!keep[t]) continue;
      const std::string prefix = std::to_string(t) + "\t";
      for (uint32_t row : data.tags[t]) {
        buf += prefix;
        buf += std::to_string(row);
        buf += '\n';
        if (buf.size() > (1 << 20)) {
          if (PQputCopyData(c, buf.data(), static_cast<int>(buf.size())) != 1)
            Die("postgres: copy");
          buf.clear();
        }
      }
    }
    if (!buf.empty() && PQputCopyData(c, buf.data(), static_cast<int>(buf.size())) != 1) {
      Die("postgres: copy");
    }
    if (PQputCopyEnd(c, nullptr) != 1) Die("postgres: copy end");
    res = PQgetResult(c);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
      Die(std::string("postgres: COPY: ") + PQerrorMessage(c));
    PQclear(res);
    while ((res = PQgetResult(c)) != nullptr) PQclear(res);
    PgExec(c, "ALTER TABLE ct ADD PRIMARY KEY (tag, customer)");
    PgExec(c, "CREATE INDEX ct_customer ON ct (customer)");
    PgExec(c, "VACUUM ANALYZE ct");
  });
  const double gin_s = compare::Seconds([&] {
    PgExec(c,
           "CREATE TABLE cust AS SELECT customer AS id, array_agg(tag ORDER BY tag) AS tags "
           "FROM ct GROUP BY customer");
    PgExec(c, "ALTER TABLE cust ADD PRIMARY KEY (id)");
    PgExec(c, "CREATE INDEX cust_tags ON cust USING gin (tags)");
    PgExec(c, "VACUUM ANALYZE cust");
  });
  const double assignments = static_cast<double>(LoadedAssignments(data, keep));
  const double ct_bytes = PgSize(c, "ct"), cust_bytes = PgSize(c, "cust");
  PGresult* v = PQexec(c, "SHOW server_version");
  const std::string version = PQresultStatus(v) == PGRES_TUPLES_OK ? PQgetvalue(v, 0, 0) : "?";
  PQclear(v);
  compare::PrintFacts("postgres", "load",
                      {{"load_s", load_s},
                       {"storage_bytes", ct_bytes},
                       {"assignments", assignments},
                       {"bytes_per_assignment", ct_bytes / assignments}},
                      {{"version", version}});
  compare::PrintFacts("postgres_gin", "load",
                      {{"load_s", gin_s},
                       {"storage_bytes", cust_bytes},
                       {"assignments", assignments},
                       {"bytes_per_assignment", cust_bytes / assignments}},
                      {{"version", version}, {"note", "load_s: built from ct in the server"}});
  const compare::Query floor{"floor", "floor", "", {}};
  const compare::Timing ft =
      compare::Time([&] { PgRun(c, "SELECT 1", true); }, args.reps, args.budget);
  compare::PrintQuery("postgres", floor, {}, ft);
  compare::PrintQuery("postgres_gin", floor, {}, ft);
  for (const Query& q : queries) {
    const bool count = q.shape != "mat3";
    for (int form = 0; form < 3; ++form) {
      const std::string sql = form == 0   ? SetForm(q, count)
                              : form == 1 ? ExistsForm(q, count, data)
                                          : ArrayForm(q, count);
      Result r;
      const compare::Timing t =
          compare::Time([&] { r = PgRun(c, sql, count); }, args.reps, args.budget);
      compare::PrintQuery(form == 2 ? "postgres_gin" : "postgres", q, r, t,
                          form == 0   ? "intersect"
                          : form == 1 ? "exists"
                                      : "gin");
    }
  }
  PgAttributes(c, args, data);
  PgExec(c, "DROP TABLE ct; DROP TABLE cust;");
  PQfinish(c);
  return 0;
}

// ---- Redis -------------------------------------------------------------------------

redisReply* Reply(redisContext* c) {
  void* r = nullptr;
  if (redisGetReply(c, &r) != REDIS_OK || r == nullptr) Die(std::string("redis: ") + c->errstr);
  auto* reply = static_cast<redisReply*>(r);
  if (reply->type == REDIS_REPLY_ERROR) Die(std::string("redis: ") + reply->str);
  return reply;
}

void Append(redisContext* c, const std::vector<std::string>& argv) {
  std::vector<const char*> ptr;
  std::vector<size_t> len;
  for (const auto& a : argv) {
    ptr.push_back(a.data());
    len.push_back(a.size());
  }
  if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), ptr.data(), len.data()) !=
      REDIS_OK) {
    Die("redis: append");
  }
}

// Sends `cmds` in one pipeline; returns the last reply (the caller frees it).
redisReply* Pipeline(redisContext* c, const std::vector<std::vector<std::string>>& cmds) {
  for (const auto& cmd : cmds) Append(c, cmd);
  for (size_t i = 0; i + 1 < cmds.size(); ++i) freeReplyObject(Reply(c));
  return Reply(c);
}

double RedisUsedMemory(redisContext* c) {
  auto* r = static_cast<redisReply*>(redisCommand(c, "INFO memory"));
  if (r == nullptr || r->type != REDIS_REPLY_STRING) Die("redis: INFO");
  const std::string info(r->str, r->len);
  freeReplyObject(r);
  const size_t at = info.find("used_memory:");
  return at == std::string::npos ? 0 : std::atof(info.c_str() + at + 12);
}

std::string Key(uint32_t t) { return "t:" + std::to_string(t); }

int Redis(const compare::Args& args, const Data& data, const std::vector<Query>& queries) {
  const int port = std::atoi(compare::Option(args, "--port", "56379").c_str());
  redisContext* c = redisConnect("127.0.0.1", port);
  if (c == nullptr || c->err) Die("redis: connect to port " + std::to_string(port));
  freeReplyObject(redisCommand(c, "FLUSHALL"));
  const double before = RedisUsedMemory(c);
  const size_t bytes = (static_cast<size_t>(data.customers) + 7) / 8;
  const double load_s = compare::Seconds([&] {
    std::string bits;
    for (size_t t = 0; t < data.tags.size(); ++t) {
      bits.assign(bytes, '\0');  // every bitmap N bits long, so BITOP NOT is exact
      for (uint32_t row : data.tags[t]) bits[row >> 3] |= static_cast<char>(0x80u >> (row & 7));
      freeReplyObject(Pipeline(c, {{"SET", Key(t), bits}}));
    }
  });
  const double used = RedisUsedMemory(c) - before;
  auto* info = static_cast<redisReply*>(redisCommand(c, "INFO server"));
  std::string version = "?";
  if (info != nullptr && info->type == REDIS_REPLY_STRING) {
    const std::string s(info->str, info->len);
    const size_t at = s.find("redis_version:");
    if (at != std::string::npos) version = s.substr(at + 14, s.find('\r', at) - at - 14);
  }
  freeReplyObject(info);
  const double assignments = static_cast<double>(data.Assignments());
  compare::PrintFacts("redis", "load",
                      {{"load_s", load_s},
                       {"storage_bytes", used},
                       {"assignments", assignments},
                       {"bytes_per_assignment", used / assignments}},
                      {{"version", version}});
  const compare::Query floor{"floor", "floor", "", {}};
  compare::PrintQuery(
      "redis", floor, {},
      compare::Time([&] { freeReplyObject(Pipeline(c, {{"PING"}})); }, args.reps, args.budget));
  for (const Query& q : queries) {
    std::vector<std::vector<std::string>> cmds;
    std::vector<std::string> op;
    const auto& t = q.tags;
    if (q.shape == "and2" || q.shape == "andall") {
      op = {"BITOP", "AND", "tmp"};
      for (uint32_t x : t) op.push_back(Key(x));
      cmds = {op};
    } else if (q.shape == "andnot3" || q.shape == "mat3") {
      cmds = {{"BITOP", "NOT", "tmpn", Key(t[2])},
              {"BITOP", "AND", "tmp", Key(t[0]), Key(t[1]), "tmpn"}};
    } else if (q.shape == "andor") {
      op = {"BITOP", "OR", "tmpo"};
      for (size_t i = 1; i < t.size(); ++i) op.push_back(Key(t[i]));
      cmds = {op, {"BITOP", "AND", "tmp", Key(t[0]), "tmpo"}};
    } else {
      Die("redis: unsupported shape " + q.shape);
    }
    const bool mat = q.shape == "mat3";
    cmds.push_back(mat ? std::vector<std::string>{"GET", "tmp"}
                       : std::vector<std::string>{"BITCOUNT", "tmp"});
    Result r;
    const compare::Timing tm = compare::Time(
        [&] {
          redisReply* reply = Pipeline(c, cmds);
          if (mat) {
            r = {};
            const auto* p = reinterpret_cast<const unsigned char*>(reply->str);
            for (size_t i = 0; i < reply->len; ++i) {
              for (unsigned b = p[i]; b != 0; b &= b - 1) {
                const unsigned bit = 7 - static_cast<unsigned>(__builtin_ctz(b));
                r.count += 1;
                r.checksum += i * 8 + bit;
              }
            }
          } else {
            r.count = static_cast<uint64_t>(reply->integer);
          }
          freeReplyObject(reply);
        },
        args.reps, args.budget);
    compare::PrintQuery("redis", q, r, tm);
  }
  freeReplyObject(redisCommand(c, "FLUSHALL"));
  redisFree(c);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Die("usage: compare_peers sqlite|postgres|redis DATA QUERIES [options]");
  const std::string which = argv[1];
  const compare::Args args = compare::ParseArgs(argc, argv, 2);
  const Data data = compare::ReadData(args.data);
  const std::vector<Query> queries = compare::ReadQueries(args.queries, data.tags.size());
  if (which == "sqlite") return Sqlite(args, data, queries);
  if (which == "postgres") return Postgres(args, data, queries);
  if (which == "redis") return Redis(args, data, queries);
  Die("unknown peer " + which);
}
