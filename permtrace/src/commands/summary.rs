//! The short summary printed when a capture ends.

use crate::capture::Capture;

/// Prints the summary; with `quiet` (`-q`) only the warning about lost events, which a user
/// must see whatever they asked for: the capture and the draft are incomplete.
pub fn print_summary(cap: &Capture, what: &str, seconds: f64, quiet: bool) {
    let hosts = cap.network.len();
    let spawns = cap.spawns.iter().filter(|s| s.program.is_some()).count();
    if !quiet {
        eprintln!(
            "permtrace: traced {what} for {seconds:.1}s: {} events, {} processes, {} unique paths, \
         {} endpoints, {} programs spawned, {} dropped",
            cap.stats.events,
            cap.stats.processes,
            cap.files.len(),
            hosts,
            spawns,
            cap.stats.lost()
        );
    }
    if cap.stats.lost() > 0 {
        eprintln!(
            "permtrace: WARNING: {} events were lost (ring buffer full: {}, in-flight table full: \
             {}, untracked processes: {}, undecodable: {}); the capture is INCOMPLETE. A larger \
             --ring-bytes helps.",
            cap.stats.lost(),
            cap.stats.kernel.ring_full,
            cap.stats.kernel.inflight_full,
            cap.stats.kernel.tracked_full,
            cap.stats.decode_errors
        );
    }
    if quiet {
        return;
    }
    if cap.stats.still_running > 0 {
        eprintln!(
            "permtrace: {} process(es) of the traced tree were still running when tracing \
             stopped; what they do from now on is not in the capture (`permtrace attach --pid` \
             follows a service that outlives the command that started it)",
            cap.stats.still_running
        );
    }
    if cap.stats.unresolved_paths > 0 {
        eprintln!(
            "permtrace: {} path arguments could not be made absolute; they are kept as given and \
             marked in capture.json",
            cap.stats.unresolved_paths
        );
    }
}
