//! The command line in the reader's language: every command's and option's help in
//! French (the default) or English, chosen when `relais` starts, before clap parses
//! anything: `relais --lang en …`, else `RELAIS_LANG=en`, else French. (`LANG` is not
//! read: most servers and terminals say `en_US` or `C` whatever their user reads.)
//! `flows check --lang en` also means English, since that option already names the
//! language of what the command says.
//!
//! The strings live in one table, both languages side by side, keyed by the command's
//! path (`flows check`) and the option's id (`flows check --dir`, or `* --dir` for
//! every command); the derive's own doc comments are only a fallback. In French,
//! clap's own words (`Usage:`, `Commands:`, `[default: …]`, `Print help`) are said in
//! French too.

use std::ffi::OsString;
use std::sync::OnceLock;

use clap::{Arg, ArgAction, Command};

use super::Lang;

static UI: OnceLock<Lang> = OnceLock::new();

/// The language the command speaks, read from the arguments and `RELAIS_LANG`.
pub(super) fn ui_lang(args: &[OsString], env: Option<&str>) -> Lang {
    let words: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let parse = |value: &str| match value {
        "fr" => Some(Lang::Fr),
        "en" => Some(Lang::En),
        _ => None,
    };
    let lang_at = |words: &[String]| {
        words.iter().enumerate().find_map(|(i, word)| {
            word.strip_prefix("--lang=")
                .or_else(|| (word == "--lang").then(|| words.get(i + 1).map(String::as_str))?)
                .and_then(parse)
        })
    };
    // `relais --lang en …`: the options before the first command.
    let first_command = words
        .iter()
        .enumerate()
        .position(|(i, w)| !w.starts_with('-') && (i == 0 || words[i - 1] != "--lang"))
        .unwrap_or(words.len());
    if let Some(lang) = lang_at(&words[..first_command]) {
        return lang;
    }
    // `relais flows check --lang en`: the language of the checker's messages.
    let rest = &words[first_command..];
    if rest.len() >= 2 && rest[0] == "flows" && rest[1] == "check" {
        if let Some(lang) = lang_at(&rest[2..]) {
            return lang;
        }
    }
    env.and_then(|v| parse(v.trim())).unwrap_or(Lang::Fr)
}

/// Sets the language for the rest of the run (the first call wins).
pub(super) fn set(lang: Lang) {
    let _ = UI.set(lang);
}

/// The language the command speaks.
pub(super) fn ui() -> Lang {
    UI.get().copied().unwrap_or(Lang::Fr)
}

/// One of two sentences, in the command's language.
pub(super) fn say(fr: &str, en: &str) -> String {
    match ui() {
        Lang::Fr => fr.to_string(),
        Lang::En => en.to_string(),
    }
}

/// The command line with its help in a language.
pub(super) fn localized(mut command: Command, lang: Lang) -> Command {
    command.build();
    localize(command, "", lang)
}

fn localize(mut command: Command, path: &str, lang: Lang) -> Command {
    if let Some(about) = text(path, lang) {
        command = command.about(about).long_about(None);
    }
    command = command.mut_args(|arg| localize_arg(arg, path, lang));
    let names: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        let sub_path = if path.is_empty() {
            name.clone()
        } else {
            format!("{path} {name}")
        };
        command = command.mut_subcommand(&name, |sub| localize(sub, &sub_path, lang));
    }
    if lang == Lang::Fr {
        command = command
            .help_template(
                "{before-help}{about-with-newline}\nUtilisation : {usage}\n\n{all-args}{after-help}",
            )
            .subcommand_help_heading("Commandes")
            .subcommand_value_name("COMMANDE");
    }
    command
}

fn localize_arg(mut arg: Arg, path: &str, lang: Lang) -> Arg {
    let id = arg.get_id().to_string();
    let key = format!("{path} --{id}");
    let found = text(&key, lang).or_else(|| text(&format!("* --{id}"), lang));
    let Some(mut help) = found else {
        return arg;
    };
    if lang == Lang::Fr && id == "subcommand" {
        arg = arg.value_name("COMMANDE");
    }
    if lang == Lang::Fr {
        let takes_values = arg.get_action().takes_values();
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        if takes_values && !defaults.is_empty() && !arg.is_hide_default_value_set() {
            help.push_str(&format!(" [par défaut : {}]", defaults.join(", ")));
            arg = arg.hide_default_value(true);
        }
        let values: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_string())
            .collect();
        if takes_values && !values.is_empty() && !arg.is_hide_possible_values_set() {
            help.push_str(&format!(" [valeurs : {}]", values.join(", ")));
            arg = arg.hide_possible_values(true);
        }
        let visible: Vec<String> = arg
            .get_visible_aliases()
            .unwrap_or_default()
            .into_iter()
            .map(str::to_string)
            .collect();
        if !visible.is_empty() {
            let all: Vec<String> = arg
                .get_all_aliases()
                .unwrap_or_default()
                .into_iter()
                .map(str::to_string)
                .collect();
            arg = arg.visible_alias(None);
            for alias in all {
                // clap keeps `&'static str` names; these few live as long as the run.
                let alias: &'static str = Box::leak(alias.into_boxed_str());
                arg = arg.alias(alias);
            }
            let shown: Vec<String> = visible.iter().map(|a| format!("--{a}")).collect();
            help.push_str(&format!(" [aussi : {}]", shown.join(", ")));
        }
    }
    if matches!(arg.get_action(), ArgAction::Help | ArgAction::HelpShort) {
        arg = arg.action(ArgAction::Help);
    }
    arg.help(help).long_help(None)
}

/// A help string of the table, in a language.
fn text(key: &str, lang: Lang) -> Option<String> {
    let generic_help = key.ends_with(" help") || key == "help";
    // `relais help flows check` lists copies of the commands under `help`: the same
    // words as the commands themselves.
    let (path, option) = key.split_once(" --").unwrap_or((key, ""));
    let words: Vec<&str> = path.split(' ').collect();
    let unhelped = if words.len() > 1 && words[..words.len() - 1].contains(&"help") {
        let kept: Vec<&str> = words.into_iter().filter(|w| *w != "help").collect();
        let path = kept.join(" ");
        if option.is_empty() {
            path
        } else {
            format!("{path} --{option}")
        }
    } else {
        key.to_string()
    };
    let key = if generic_help {
        "* help"
    } else {
        unhelped.as_str()
    };
    TABLE
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, fr, en)| match lang {
            Lang::Fr => fr.to_string(),
            Lang::En => en.to_string(),
        })
}

/// Every help string: the command's path (`flows check`), or its path and an
/// option's id (`flows check --dir`; `* --id` for that option on every command).
const TABLE: &[(&str, &str, &str)] = &[
    ("", "Un clavardage d'aide anonyme pour les jeunes devant l'exploitation sexuelle.", "An anonymous help chat for youths facing sexual exploitation."),
    (" --lang", "La langue de l'aide et des messages (aussi RELAIS_LANG).", "The language of the help and messages (also RELAIS_LANG)."),
    ("* --help", "Affiche l'aide", "Print help"),
    ("* --version", "Affiche la version", "Print version"),
    ("* help", "Affiche cette aide, ou celle des commandes données", "Print this message or the help of the given subcommand(s)"),
    ("* --subcommand", "La commande dont afficher l'aide", "The subcommand whose help to print"),
    ("* --config", "Un fichier de configuration TOML (voir « relais config example »).", "A TOML configuration file (see `relais config example`)."),
    ("* --data_dir", "Le dossier du magasin de données.", "Folder of the embedded store."),
    ("* --flows_dir", "Le dossier des flux.", "Folder of the flows."),
    ("* --web_dir", "Le dossier des pages.", "Folder of the pages."),
    ("* --dir", "Le dossier des flux.", "The flows folder."),
    ("* --login", "L'identifiant du compte.", "The account's login."),
    ("* --passphrase_file", "Un fichier dont la première ligne est la phrase de passe (sinon, elle est demandée).", "A file whose first line is the passphrase (else it is asked for)."),
    ("serve", "Lance le serveur.", "Runs the server."),
    ("serve --listen", "L'adresse où écouter (par défaut 127.0.0.1:8080).", "Address to listen on (default 127.0.0.1:8080)."),
    ("config", "L'aide à la configuration.", "Configuration helpers."),
    ("config example", "Affiche un exemple de configuration avec chaque valeur par défaut.", "Prints an example configuration with every default."),
    ("intervenor", "Les comptes des intervenant·e·s (par le serveur en marche, ou sur le magasin quand aucun serveur ne tourne).", "Intervenor accounts (through the running server's admin socket, or on the store when no server runs)."),
    ("intervenor add", "Crée un compte; le mot de passe est lu au terminal ou sur l'entrée standard.", "Creates an account; the password is read from the terminal or stdin."),
    ("intervenor add --name", "Le nom affiché dans la console.", "The name shown in the console."),
    ("intervenor add --role", "Le rôle du compte.", "The account's role."),
    ("intervenor list", "Liste les comptes.", "Lists the accounts."),
    ("intervenor remove", "Supprime un compte et ferme ses connexions.", "Deletes an account and ends its logins."),
    ("intervenor reset-password", "Donne un nouveau mot de passe (lu au terminal ou sur l'entrée standard) et ferme chaque connexion.", "Sets a new password (read from the terminal or stdin) and ends every login."),
    ("intervenor totp", "La connexion à deux facteurs avec une appli TOTP.", "Two-factor login with a TOTP app."),
    ("intervenor totp enable", "Active le TOTP et affiche l'URI otpauth:// pour l'appli.", "Turns TOTP on and prints the otpauth:// URI for the app."),
    ("intervenor totp disable", "Désactive le TOTP (une décision de superviseur·e, par exemple pour un téléphone perdu).", "Turns TOTP off (a supervisor's decision, e.g. a lost phone)."),
    ("flows", "Les outils des auteur·e·s de flux.", "Tools for flow authors."),
    ("flows check", "Vérifie les flux et leurs essais; chaque problème avec fichier:ligne:colonne.", "Checks the flows and their essais; every problem with file:line:col."),
    ("flows check --dir_positional", "Le dossier des flux (par défaut ./flows).", "The flows folder (default ./flows)."),
    ("flows check --lang", "La langue des messages.", "The language of the messages."),
    ("flows check --format", "text pour une personne, json pour un éditeur.", "text for a person, json for an editor."),
    ("flows check --start", "Le nœud de départ.", "The start node."),
    ("flows check --errors_only", "Seulement les erreurs.", "Errors only."),
    ("flows ids", "Trouve les lignes sans « #id: » (et les écrit avec --add).", "Finds the lines without \"#id:\" (and writes them with --add)."),
    ("flows ids --add", "Écrit les identifiants dans les fichiers (sinon, les liste).", "Writes the ids into the files (else lists them)."),
    ("flows preview", "Sert la page des auteur·e·s sur cet ordinateur, pour une copie des flux, sans compte à créer; elle se met à jour à chaque enregistrement.", "Serves the authors' page on this computer for a copy of the flows, with no account to create; it updates on every save."),
    ("flows preview --listen", "L'adresse de la page.", "The page's address."),
    ("flows lsp", "Le serveur de langage (LSP) pour les éditeurs, sur l'entrée et la sortie standard.", "The language server (LSP) for editors, over stdin and stdout."),
    ("flows try", "Joue une conversation dans le terminal : un chiffre choisit un bouton, « #id » un bouton par son identifiant, /recommencer recommence, /quitter sort, le reste est ce que le ou la jeune tape.", "Plays a conversation in the terminal: a number picks a button, \"#id\" a button by its id, /restart starts again, /quit leaves, anything else is what the youth types."),
    ("flows try --lang", "La langue de la conversation.", "The conversation's language."),
    ("flows try --from", "Commence à ce nœud plutôt qu'au nœud de départ.", "Start at this node instead of the start node."),
    ("flows graph", "Le flux en graphe (Mermaid ou Graphviz dot).", "The flow as a graph (Mermaid or Graphviz dot)."),
    ("flows graph --format", "Le format du graphe.", "The graph's format."),
    ("flows graph --file", "Seulement les nœuds de ce fichier (rencontre.flow).", "Only this file's nodes (rencontre.flow)."),
    ("flows graph --from", "À partir de ce nœud.", "From this node."),
    ("flows graph --depth", "Jusqu'à tant de liens de --from.", "This many links from --from."),
    ("flows graph --hide", "Ces nœuds deviennent des badges (↩ menu); un nom de bloc, ses boutons (+ boutons_fin).", "These nodes become badges (↩ menu); a block's name, its buttons (+ boutons_fin)."),
    ("flows history", "Chaque version que le serveur a chargée, la plus ancienne d'abord.", "Every version the server loaded, oldest first."),
    ("flows rollback", "Remet une version précédente dans le dossier des flux; un serveur en marche la recharge.", "Puts an earlier version back in the flows folder; a running server reloads it."),
    ("flows rollback --version", "La version (son empreinte, ou son début).", "The version (its hash, or the start of it)."),
    ("flows translations", "Les tableaux de traduction : exporter un CSV pour un·e traducteur·rice, puis le réimporter.", "Translation tables: export a CSV for a translator, import it back."),
    ("flows translations export", "Écrit un CSV (id, source, translation, status, file, node, line, old_source).", "Writes a CSV (id, source, translation, status, file, node, line, old_source)."),
    ("flows translations export --lang", "La langue vers laquelle traduire (en, iu, cr, …).", "The language to translate into (en, iu, cr, …)."),
    ("flows translations export --out", "Où écrire le CSV (par défaut : la sortie standard).", "Where to write the CSV (default: standard output)."),
    ("flows translations export --only", "Seulement ces lignes : missing, stale, suggested, ok.", "Only these rows: missing, stale, suggested, ok."),
    ("flows translations import", "Lit un CSV rempli dans traductions/LANGUE.txt et dit les conflits.", "Reads a filled CSV into traductions/LANG.txt and reports conflicts."),
    ("flows translations import --lang", "La langue du CSV (en, iu, cr, …).", "The CSV's language (en, iu, cr, …)."),
    ("flows translations import --file", "Le CSV rempli.", "The filled CSV."),
    ("flows triggers", "Les déclencheurs urgents : noter un corpus, ou montrer pourquoi une phrase déclenche.", "The urgent triggers: score a corpus, or show why a phrase fires."),
    ("flows triggers test", "Joue un corpus (un fichier, ou chaque *.txt d'un dossier, « niveau catégorie | message » par ligne) et donne le rappel urgent et les fausses alertes par langue et par catégorie, et chaque raté. Échoue sous 98 % de rappel ou au-dessus de 3 % de fausses alertes.", "Plays a corpus (a file, or every *.txt of a folder, one \"level category | message\" a line) and prints urgent recall and benign false alarms per language and category, and every miss. Fails below 98 % recall or above 3 % false alarms."),
    ("flows triggers test --file", "Le corpus (par défaut tests/data/triggers).", "The corpus (default: tests/data/triggers)."),
    ("flows triggers why", "Montre une phrase après normalisation, et chaque motif qui la reconnaît.", "Shows a phrase after normalisation, and every pattern that matches it."),
    ("flows triggers why --phrase", "La phrase à expliquer.", "The phrase to explain."),
    ("flows themes", "Les thèmes du texte libre (sujets.toml) : noter un corpus.", "The themes free text leads to (sujets.toml): score a corpus."),
    ("flows themes test", "Tape chaque message d'un corpus (un fichier, ou chaque *.txt d'un dossier, « noeud | message » par ligne, « - » pour « non compris ») au menu et donne la part qui arrive à son nœud par langue, et chaque raté. Échoue sous 85 %.", "Types each message of a corpus (a file, or every *.txt of a folder, one \"node | message\" a line, \"-\" for \"not understood\") at the menu and prints the share that lands on its node per language, and every miss. Fails below 85 %."),
    ("flows themes test --file", "Le corpus (par défaut tests/data/themes).", "The corpus (default: tests/data/themes)."),
    ("report", "Écrit le rapport d'impact : les axes du plan, chaque chiffre à côté de celui de la période d'avant (par le serveur en marche, ou sur le magasin quand aucun ne tourne).", "Writes the impact report: the plan's axes, each figure beside the previous period's (through the running server, or on the store when none runs)."),
    ("report --from", "Premier jour, AAAA-MM-JJ (par défaut : le début de la période qui contient --to).", "First day, YYYY-MM-DD (default: the start of the period that holds --to)."),
    ("report --to", "Dernier jour, AAAA-MM-JJ (par défaut : aujourd'hui). Le rapport couvre des périodes entières.", "Last day, YYYY-MM-DD (default: today). The range covers whole periods."),
    ("report --last", "La dernière période entière avant aujourd'hui (avec --period quarter : le dernier trimestre).", "The last whole period before today (with --period quarter: the last quarter)."),
    ("report --period", "day, week, month, quarter ou year : comment la période est découpée.", "day, week, month, quarter or year: how the range is broken down."),
    ("report --format", "md, csv, json ou html.", "md, csv, json or html."),
    ("report --lang", "fr ou en : la langue du rapport.", "fr or en: the report's language."),
    ("backup", "Une copie chiffrée du magasin et de ses clés (serveur en marche ou non).", "An encrypted copy of the store and its keys (while the server runs, or not)."),
    ("backup --out", "Le fichier de sauvegarde à écrire (il ne doit pas exister).", "The backup file to write (it must not exist)."),
    ("restore", "Restaure une sauvegarde dans un dossier de données vide (puis lance un serveur dessus).", "Restores a backup into an empty data folder (then start a server on it)."),
    ("restore --file", "Le fichier de sauvegarde.", "The backup file."),
    ("restore --data_dir", "Le dossier de données à remplir (vide ou absent).", "The data folder to fill (empty or absent)."),
    ("ws", "Un client WebSocket pour essayer le protocole à la main : chaque ligne tapée part en trame, chaque trame reçue s'affiche sur une ligne.", "A WebSocket client for trying the wire contract by hand: each line typed is sent as a frame, each frame received is printed on one line."),
    ("ws --url", "ws://127.0.0.1:8080/chat (un·e jeune) ou ws://127.0.0.1:8080/console.", "ws://127.0.0.1:8080/chat (a youth) or ws://127.0.0.1:8080/console."),
];

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn args(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_language_comes_from_the_top_flag_then_check_then_relais_lang() {
        let lang = |words: &[&str], env| ui_lang(&args(words), env);
        assert!(lang(&["relais", "--help"], None) == Lang::Fr);
        assert!(lang(&["relais", "--lang", "en", "--help"], None) == Lang::En);
        assert!(lang(&["relais", "--lang=en", "flows", "check"], Some("fr")) == Lang::En);
        assert!(lang(&["relais", "flows", "check", "--lang", "en"], None) == Lang::En);
        // `try --lang` and `export --lang` name the conversation's or translation's
        // language, not the command's.
        assert!(lang(&["relais", "flows", "try", "--lang", "en"], None) == Lang::Fr);
        assert!(lang(&["relais", "flows", "check"], Some("en")) == Lang::En);
        assert!(lang(&["relais", "flows", "check"], Some("iu")) == Lang::Fr);
    }

    /// Every command and option has its help in both languages: none falls back to
    /// the derive's words.
    #[test]
    fn every_command_and_option_has_its_help_in_french_and_english() {
        fn walk(command: &Command, path: &str, missing: &mut Vec<String>) {
            if text(path, Lang::En).is_none() {
                missing.push(format!("{path:?}"));
            }
            for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
                let id = arg.get_id().as_str();
                let key = format!("{path} --{id}");
                if text(&key, Lang::En).is_none() && text(&format!("* --{id}"), Lang::En).is_none()
                {
                    missing.push(key);
                }
            }
            for sub in command.get_subcommands() {
                let sub_path = format!("{path} {}", sub.get_name());
                walk(sub, sub_path.trim(), missing);
            }
        }
        let mut command = super::super::Cli::command();
        command.build();
        let mut missing = Vec::new();
        walk(&command, "", &mut missing);
        assert!(
            missing.is_empty(),
            "no help text in src/cli/help.rs for {missing:?}"
        );
    }

    #[test]
    fn the_help_reads_in_french_or_in_english() {
        let render = |lang| {
            let mut command = localized(super::super::Cli::command(), lang);
            let flows = command.find_subcommand_mut("flows").unwrap();
            let check = flows.find_subcommand_mut("check").unwrap();
            check.render_help().to_string()
        };
        let french = render(Lang::Fr);
        assert!(
            french.contains("Vérifie les flux et leurs essais"),
            "{french}"
        );
        assert!(french.contains("Utilisation : "), "{french}");
        assert!(
            french.contains("[par défaut : fr] [valeurs : fr, en]"),
            "{french}"
        );
        assert!(french.contains("[aussi : --dir]"), "{french}");
        assert!(french.contains("Affiche l'aide"), "{french}");
        assert!(!french.contains("Print help"), "{french}");
        let english = render(Lang::En);
        assert!(
            english.contains("Checks the flows and their essais"),
            "{english}"
        );
        assert!(english.contains("Usage: "), "{english}");
        assert!(english.contains("Print help"), "{english}");
    }
}
