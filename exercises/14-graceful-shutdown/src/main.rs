//! The server program. Given and finished: it reads the command line, runs
//! your `run` on a tokio runtime, and exits with the code of how it ended.
//!
//! ```text
//! cargo run -p exercise-14 -- CONFIG [--addr ADDR] [--drain-timeout-ms MS]
//! ```

use exercise_14::{EXIT_ERROR, EXIT_USAGE, Options, run};

// ANCHOR: main
fn main() {
    let options = match Options::from_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(problem) => {
            eprintln!("error: {problem}");
            eprintln!("usage: exercise-14 CONFIG [--addr ADDR] [--drain-timeout-ms MS]");
            std::process::exit(EXIT_USAGE);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("building the tokio runtime");
    let code = match runtime.block_on(run(options)) {
        Ok(shutdown) => {
            eprintln!("stopped: {shutdown:?}");
            shutdown.exit_code()
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_ERROR
        }
    };
    // Exit here, without dropping the runtime: dropping it would wait for
    // tasks in `spawn_blocking`. After a forced stop (deadline, second
    // signal) the remaining connections are closed by the kernel with the
    // process, which is the point.
    std::process::exit(code);
}
// ANCHOR_END: main
