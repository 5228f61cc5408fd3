//! SQLite backend: WAL mode with `synchronous=FULL`, so a committed batch survives `kill -9`
//! and power loss. One row per object, keyed by (group, resource, namespace, name).

use super::{Backend, GroupResource, Mutation, Row, StoreError};
use rusqlite::{Connection, params};
use std::path::Path;

/// The embedded store.
pub struct SqliteBackend {
    conn: Connection,
}

fn err(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SqliteBackend {
    /// Open (or create) the database file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=FULL;
             PRAGMA foreign_keys=OFF;
             CREATE TABLE IF NOT EXISTS objects (
                 grp TEXT NOT NULL, res TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL,
                 rv INTEGER NOT NULL, data TEXT NOT NULL,
                 PRIMARY KEY (grp, res, ns, name)) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);",
        )
        .map_err(err)?;
        Ok(Self { conn })
    }
}

impl Backend for SqliteBackend {
    fn load(&mut self) -> Result<(u64, Vec<Row>), StoreError> {
        let rv: i64 = self
            .conn
            .query_row("SELECT v FROM meta WHERE k = 'rv'", [], |r| r.get(0))
            .or_else(|e| {
                if matches!(e, rusqlite::Error::QueryReturnedNoRows) {
                    Ok(0)
                } else {
                    Err(e)
                }
            })
            .map_err(err)?;
        let mut stmt = self
            .conn
            .prepare("SELECT grp, res, ns, name, rv, data FROM objects")
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                let data: String = r.get(5)?;
                let rv: i64 = r.get(4)?;
                Ok(Row {
                    gr: GroupResource {
                        group: r.get(0)?,
                        resource: r.get(1)?,
                    },
                    namespace: r.get(2)?,
                    name: r.get(3)?,
                    rv: u64::try_from(rv).unwrap_or_default(),
                    json: data.into(),
                })
            })
            .map_err(err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?;
        Ok((u64::try_from(rv).unwrap_or_default(), rows))
    }

    fn commit(&mut self, rv: u64, mutations: &[Mutation]) -> Result<(), StoreError> {
        let tx = self.conn.transaction().map_err(err)?;
        {
            let mut put = tx
                .prepare_cached("INSERT OR REPLACE INTO objects (grp, res, ns, name, rv, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .map_err(err)?;
            let mut del = tx
                .prepare_cached(
                    "DELETE FROM objects WHERE grp = ?1 AND res = ?2 AND ns = ?3 AND name = ?4",
                )
                .map_err(err)?;
            for m in mutations {
                let rv = i64::try_from(m.rv).map_err(|e| StoreError::Backend(e.to_string()))?;
                match &m.json {
                    Some(json) => put
                        .execute(params![
                            m.gr.group,
                            m.gr.resource,
                            m.namespace,
                            m.name,
                            rv,
                            json.as_ref()
                        ])
                        .map_err(err)?,
                    None => del
                        .execute(params![m.gr.group, m.gr.resource, m.namespace, m.name])
                        .map_err(err)?,
                };
            }
            let rv = i64::try_from(rv).map_err(|e| StoreError::Backend(e.to_string()))?;
            tx.execute(
                "INSERT OR REPLACE INTO meta (k, v) VALUES ('rv', ?1)",
                params![rv],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)
    }
}
