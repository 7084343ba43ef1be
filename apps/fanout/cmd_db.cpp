// `fanout db migrate|status` (issue 14, least privilege): the device schema in PostgreSQL is
// changed only by its owner; the region's processes connect as an application role that may
// read and write rows and nothing else (store.postgres_migrate = false). `migrate` applies
// the migrations this binary carries and, with --app-role, grants that role exactly what the
// device store uses (docs/devices.md "Roles"). Exit codes: 0 ok, 1 the schema is not current
// (`status`), 2 usage or database error.
#include <iostream>
#include <memory>
#include <string>

#include "commands.hpp"
#if FANOUT_HAVE_DISTRIBUTED
#include "adapters/postgres/migrations.hpp"
#include "adapters/postgres/pg.hpp"
#endif

namespace fanout::cli {
namespace {

struct DbArgs {
  std::string postgres, app_role;
};

#if FANOUT_HAVE_DISTRIBUTED
int RunMigrate(const DbArgs& a) {
  namespace pg = adapters::postgres;
  auto conn = pg::PgConnection::Connect(a.postgres);
  if (!conn) {
    std::cerr << "fanout db migrate: " << conn.error().message << "\n";
    return 2;
  }
  auto applied = pg::ApplyMigrations(*conn, pg::DeviceMigrations());
  if (!applied) {
    std::cerr << "fanout db migrate: " << applied.error().message << "\n";
    return 2;
  }
  for (const auto& v : *applied) std::cout << "applied " << v << "\n";
  if (applied->empty())
    std::cout << "schema current (" << pg::DeviceMigrations().size() << " migrations, newest "
              << pg::DeviceMigrations().back().version << ")\n";
  if (!a.app_role.empty()) {
    if (auto g = pg::GrantAppRole(*conn, a.app_role); !g) {
      std::cerr << "fanout db migrate: " << g.error().message << "\n";
      return 2;
    }
    std::cout << "granted " << a.app_role
              << " rows of the device tables (select, insert, update, delete), read-only "
                 "schema_migrations, temporary tables\n";
  }
  return 0;
}

int RunStatus(const DbArgs& a) {
  namespace pg = adapters::postgres;
  auto conn = pg::PgConnection::Connect(a.postgres);
  if (!conn) {
    std::cerr << "fanout db status: " << conn.error().message << "\n";
    return 2;
  }
  if (auto c = pg::CheckMigrations(*conn, pg::DeviceMigrations()); !c) {
    std::cout << "not current: " << c.error().message << "\n";
    return 1;
  }
  std::cout << "schema current (newest migration " << pg::DeviceMigrations().back().version
            << ")\n";
  return 0;
}
#else
int RunMigrate(const DbArgs&) {
  std::cerr << "fanout db: this build has no PostgreSQL support\n";
  return 2;
}
int RunStatus(const DbArgs& a) { return RunMigrate(a); }
#endif

}  // namespace

void RegisterDbCommands(CLI::App& app) {
  auto* db = app.add_subcommand("db", "The device registry's PostgreSQL schema (distributed)");
  db->require_subcommand(1);
  auto args = std::make_shared<DbArgs>();
  auto* migrate =
      db->add_subcommand("migrate",
                         "Apply the schema migrations as the schema owner; --app-role grants the "
                         "application role what the device store uses, nothing more");
  migrate->add_option("--postgres", args->postgres, "PostgreSQL URI of the schema owner")
      ->required();
  migrate->add_option("--app-role", args->app_role,
                      "role the region's processes connect as (store.postgres_url's user)");
  migrate->callback([args] { ExitCode() = RunMigrate(*args); });
  auto* status = db->add_subcommand(
      "status", "Exit 0 when every migration of this binary is applied, 1 (naming them) if not");
  status->add_option("--postgres", args->postgres, "PostgreSQL URI")->required();
  status->callback([args] { ExitCode() = RunStatus(*args); });
}

}  // namespace fanout::cli
