//! Circuit policies from a TOML file: `cargo run -p examples --example config_file`, or
//! `-- path/to/fusebox.toml` for a file of your own (default: `examples/config_file.toml`).
//!
//! `Config::from_path` reads and validates every policy at once (feature `config` of
//! `fusebox`); `Fusebox::builder().config(&config)` gives each named circuit its section and
//! every other circuit `[default]`. A bad value is an error naming the file, the circuit and
//! the field, shown here for a file with a typo.

use fusebox::Fusebox;
use fusebox::config::Config;

const BROKEN: &str = r#"
[circuits.payments]
trip = "failure_rate(50%)"
"#;

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/config_file.toml").to_owned());
    let config = match Config::from_path(&path) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(1);
        }
    };
    println!(
        "read {path}: [default] and {} circuit sections",
        config.circuits().count()
    );

    let fusebox = match Fusebox::builder().config(&config).build() {
        Ok(fusebox) => fusebox,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(1);
        }
    };
    // A circuit with a section gets its policy; any other gets [default].
    for name in ["payments", "GET /search", "inventory"] {
        let policy = fusebox.circuit(name).policy().clone();
        println!("{name:?}");
        println!("    window {}, retry {}", policy.window(), policy.retry());
        println!("    trips on {}", policy.trip());
        let expected = config.policy(name).unwrap_or(config.default_policy());
        if policy.to_string() != expected.to_string() {
            eprintln!("circuit {name:?} did not get its policy from the file");
            std::process::exit(1);
        }
    }

    match Config::from_toml(BROKEN, "broken.toml") {
        Ok(_) => {
            eprintln!("the broken file was accepted");
            std::process::exit(1);
        }
        Err(error) => println!("a file with a typo is refused:\n{error}"),
    }
}
