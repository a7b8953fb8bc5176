//! Starting the traced command: as the right user, paused until the tracer follows it, and
//! waited for with its exit status translated the way shells do.

mod signals;
mod spawn;
mod user;

pub use signals::{SignalSource, Signals};
pub use spawn::{ExecOutcome, PausedChild, SpawnSpec, exit_code_of, wait_nohang};
pub use user::{TargetUser, resolve_user, user_by_uid};
