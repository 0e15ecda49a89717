//! The integration tests: one binary (ripgrep's layout), one module per
//! area, and one shared harness. They run the real `claims` binary in
//! temporary directories, and the library over `MemStore` and `SledStore`.
//!
//! | module | what |
//! |---|---|
//! | `claimreview` | ClaimReview out and in: the seed's verdicts, schema.org's vocabulary, feeds, the round trip, refusals |
//! | `cli` | every command end to end, its output, refusals and exit codes; the ledger server |
//! | `fuzz` | proptest on the parsers and the append path against a model of the rules |
//! | `model` | state, diff and audit against a naive reference fold written from SPEC |
//! | `postgres` | PostgreSQL as the store, each test on its own throw-away cluster: the CLI prints what it prints on sled, a ledger moves sled → PostgreSQL → sled with the same head, unusable databases in one sentence, two servers on one database, a killed server and a crashed PostgreSQL |
//! | `recorded_by` | who entered an entry through the server: `audit`, `show` and `log` (human and JSON) of an imported export that carries `recorded_by`, locally and through both servers; its refusals |
//! | `reliability` | crashes (SIGKILL), locks, hostile files, tampering, damaged ledgers |
//! | `robustness` | what a year of real use throws at it (issue 11's reproductions) |
//! | `server` | the newsroom server: the API, accounts and roles, the CLI as its client, the feed, hostile requests |
//! | `seed` | the seed story's states at the article's moments, as golden JSON |
//! | `snapshots` | help, error lines and tables, as insta snapshots |
//! | `timeline` | the SVG and HTML pictures |
//! | `transparency` | the verifiable log: keys, checkpoints, proofs, published copies, tampering |
//! | `transparency_hostile` | the verifiable log's commands given hostile keys, proofs, checkpoints and copies: one sentence, nothing changed |
//! | `user` | the newsroom server's accounts: `user add`, `list`, `revoke`; the token shown once and never stored |
//! | `web` | the desk's web page in headless Chromium (the seed story's moments against `claims state`, a writer's dispute through the form, refused forms, readers without forms), and hostile plain-HTTP requests (CSRF, sessions, escaping, ids, tokens) |

mod harness;

mod claimreview;
mod cli;
mod fuzz;
mod model;
mod postgres;
mod recorded_by;
mod reliability;
mod robustness;
mod seed;
mod server;
mod snapshots;
mod timeline;
mod transparency;
mod transparency_hostile;
mod user;
mod web;
