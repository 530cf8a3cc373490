/* The store's SQLite database (internal to src/store). */
#ifndef KN_STORE_META_H
#define KN_STORE_META_H

#include <sqlite3.h>

#include "base/err.h"
#include "store/store.h"

/* Opens (creating) meta.db in the store's root with WAL, a busy timeout and
 * the schema. */
int kn_meta_open(kn_store *s, kn_err *err);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int kn_meta_begin(kn_store *s, kn_err *err);
int kn_meta_commit(kn_store *s, kn_err *err);
void kn_meta_rollback(kn_store *s);

/* Runs SQL without results. */
int kn_meta_exec(kn_store *s, const char *sql, kn_err *err);
/* Prepares a statement; error names the SQL. */
sqlite3_stmt *kn_meta_prepare(kn_store *s, const char *sql, kn_err *err);
/* Steps a statement that returns no rows (SQLITE_DONE), resetting it. */
int kn_meta_step_done(kn_store *s, sqlite3_stmt *st, kn_err *err);
/* Error from the database's last message. */
int kn_meta_err(kn_store *s, kn_err *err, const char *what);

void kn_meta_finalizep(sqlite3_stmt **st);
#define kn_autostmt __attribute__((cleanup(kn_meta_finalizep)))

/* Whether the blobs table records `digest`. */
int kn_meta_blob_recorded(kn_store *s, const kn_digest *digest, bool *is_recorded, kn_err *err);

/* The index.json the names table calls for. Caller frees. */
char *kn_meta_index_json(kn_store *s, kn_err *err);
/* Writes index.json from the names table if it differs (under locks/index). */
int kn_meta_sync_index(kn_store *s, kn_err *err);

#endif
