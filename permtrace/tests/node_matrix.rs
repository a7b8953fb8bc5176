//! The acceptance matrix of issue 3: every sample app in `tests/apps/` on Node 22.23.3,
//! 24.21.0 and 26.10.0. For each: trace it with `permtrace run`, then with the same Node run
//! it under the draft's `node-flags.txt` and under its `node.config.json` (it must succeed with
//! zero ERR_ACCESS_DENIED), check reads and writes outside it are still denied, check the
//! draft's form, and on 24/26 run it under `--permission-audit` with a diagnostics_channel
//! subscriber that must record nothing missing. See `acceptance/mod.rs`.
//!
//! Kernel tests: they need root and BTF and fail (never skip) without them.

mod acceptance;
mod common;

use acceptance::apps::*;

macro_rules! matrix {
    ($($app:ident: $const:ident;)*) => {
        $(
            mod $app {
                use super::*;

                #[test]
                fn node_22() {
                    common::require_kernel();
                    acceptance::check(&$const, "22.23.3");
                }

                #[test]
                fn node_24() {
                    common::require_kernel();
                    acceptance::check(&$const, "24.21.0");
                }

                #[test]
                fn node_26() {
                    common::require_kernel();
                    acceptance::check(&$const, "26.10.0");
                }
            }
        )*
    };
}

matrix! {
    cjs_modules: CJS_MODULES;
    esm: ESM;
    logs_and_temp: LOGS_AND_TEMP;
    child_and_worker: CHILD_AND_WORKER;
    http_server: HTTP_SERVER;
    etc_hosts_reader: ETC_HOSTS_READER;
    monorepo_symlinks: MONOREPO_SYMLINKS;
    chdir_relative: CHDIR_RELATIVE;
    preload_watch: PRELOAD_WATCH;
}
