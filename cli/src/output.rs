//! Standard output that survives `| head`: a closed pipe ends the program quietly instead of
//! panicking the way `println!` does.

use std::io::Write;

/// Writes one line to stdout (use the `out!` macro).
pub fn line(text: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_fmt(text)
        .and_then(|()| stdout.write_all(b"\n"))
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("bacowr: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// `println!` for the CLI's stdout.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}
