//! A tour of sysinfo 0.40: CPU usage needs two refreshes, memory is in
//! bytes, and `refresh_processes` lists threads too.
//!
//! ```text
//! cargo run -p solution-15 --features examples --example sysinfo-tour
//! ```

// ANCHOR: tour
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use sysinfo::{MINIMUM_CPU_UPDATE_INTERVAL, ProcessesToUpdate, System, ThreadKind};

fn main() -> Result<(), sysinfo::Error> {
    // Something to measure: one thread of this program spins.
    let stop = Arc::new(AtomicBool::new(false));
    let spinner = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        })
    };

    // 0.40: `new` and `new_all` return a Result.
    let mut sys = System::new()?;
    let me = sysinfo::get_current_pid()?;

    sys.refresh_processes(ProcessesToUpdate::All, true);
    let first = sys.process(me).expect("this process").cpu_usage();

    // CPU usage is a difference between two refreshes: wait, refresh again.
    std::thread::sleep(MINIMUM_CPU_UPDATE_INTERVAL.max(Duration::from_millis(500)));
    sys.refresh_processes(ProcessesToUpdate::All, true);
    let this = sys.process(me).expect("this process");
    println!("CPU after the first refresh:  {first:5.1} %");
    println!("CPU after the second refresh: {:5.1} %", this.cpu_usage());
    println!("CPU time so far: {} ms", this.accumulated_cpu_time());
    println!("resident (RSS):  {:>12} bytes", this.memory());
    println!("virtual:         {:>12} bytes", this.virtual_memory());

    // refresh_processes includes the tasks: each thread of a program is an
    // entry too. Kernel threads are processes of their own, as in `ps -e`.
    let kinds = |kind| {
        let n = sys.processes().values().filter(|p| p.thread_kind() == kind);
        n.count()
    };
    println!(
        "{} entries: {} processes, {} kernel threads, {} threads of processes",
        sys.processes().len(),
        kinds(None),
        kinds(Some(ThreadKind::Kernel)),
        kinds(Some(ThreadKind::Userland)),
    );

    sys.refresh_memory();
    println!("total:     {:>12} bytes", sys.total_memory());
    println!("free:      {:>12} bytes", sys.free_memory());
    println!("available: {:>12} bytes", sys.available_memory());
    println!("used:      {:>12} bytes", sys.used_memory());

    stop.store(true, Ordering::Relaxed);
    spinner.join().expect("the spinning thread panicked");
    Ok(())
}
// ANCHOR_END: tour
