//! How every subcommand reads its settings: one loader, the same layers for all
//! (defaults, the `--config` file, `RELAIS_*` variables, then the flags, which win),
//! and a mistake told in one sentence in the command line's language.

use crate::config::{Config, Flags};

use super::Common;

/// The settings for a command: `common`'s file and folders, then its own `flags`.
pub(super) fn load(common: &Common, flags: Flags) -> anyhow::Result<Config> {
    let flags = Flags {
        data_dir: flags.data_dir.or_else(|| common.data_dir.clone()),
        flows_dir: flags.flows_dir.or_else(|| common.flows_dir.clone()),
        ..flags
    };
    Config::load_with(common.config.as_deref(), std::env::vars(), &flags)
        .map_err(|error| anyhow::anyhow!(error.message(language())))
}

/// The command line's language: English when asked for with `--lang en`, French
/// otherwise (French first). `flows translations … --lang` names the language of a
/// translation, not the reader's.
fn language() -> &'static str {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|arg| arg == "translations") {
        return "fr";
    }
    let english = args
        .windows(2)
        .any(|pair| pair[0] == "--lang" && pair[1] == "en")
        || args.iter().any(|arg| arg == "--lang=en");
    if english {
        "en"
    } else {
        "fr"
    }
}
