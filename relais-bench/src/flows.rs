//! Flow folders made for the start-time test: a copy of the shipped flows (scripts,
//! resources, triggers, translations) with generated scripts added until the folder
//! holds the asked number of `.flow` files. The generated scripts form a chain the
//! start node reaches through one more choice under « Il se passe quelque chose avec
//! moi » (the menu keeps its 9 choices at most), so none of it is dead weight the
//! loader could skip.

use std::path::Path;

/// The choice of the shipped flows after which the choice leading to the generated
/// chain goes (in `situation`: the menu itself is full).
const MENU_CHOICE_AFTER: &str = "#id:sit_parler";

/// Copies `shipped` into `into` and adds generated scripts until `into` holds
/// `flow_files` `.flow` files (at least the shipped ones). Returns how many were
/// generated.
pub fn generate(shipped: &Path, into: &Path, flow_files: usize) -> std::io::Result<usize> {
    copy_dir(shipped, into)?;
    let existing = std::fs::read_dir(into)?
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "flow"))
        .count();
    let generated = flow_files.saturating_sub(existing);
    if generated == 0 {
        return Ok(0);
    }
    let accueil = into.join("accueil.flow");
    let text = std::fs::read_to_string(&accueil)?;
    let Some(at) = text.find(MENU_CHOICE_AFTER) else {
        return Err(std::io::Error::other(format!(
            "the shipped accueil.flow has no {MENU_CHOICE_AFTER} to hang the generated flows on"
        )));
    };
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
    let mut patched = text[..line_end].to_string();
    patched.push_str("* D'autres sujets -> gen_001 #id:gen_menu\n");
    patched.push_str(&text[line_end..]);
    std::fs::write(&accueil, patched)?;
    for number in 1..=generated {
        let next = if number == generated {
            "menu".to_string()
        } else {
            format!("gen_{:03}", number + 1)
        };
        std::fs::write(
            into.join(format!("gen_{number:03}.flow")),
            generated_script(number, &next),
        )?;
    }
    Ok(generated)
}

/// A small valid script: a topic with a few lines and choices, a question routed by
/// words, and a thank-you that goes back to the menu.
fn generated_script(number: usize, next: &str) -> String {
    let id = format!("gen_{number:03}");
    format!(
        "// Généré par relais-bench : un script de plus pour mesurer le démarrage.\n\
         \n\
         === {id}\n\
         Sujet généré numéro {number} : quelques mots pour occuper le lecteur. #id:{id}_intro\n\
         Un deuxième message, avec du **gras** et une liste de trois idées. #id:{id}_detail\n\
         Un troisième message, pour que le fichier ressemble à un vrai thème. #id:{id}_fin_intro\n\
         * Continuer -> {next} #id:{id}_suite\n\
         * Écrire avec mes mots -> {id}_question #id:{id}_ecrire\n\
         * Retour au menu -> menu #id:{id}_menu\n\
         \n\
         === {id}_question\n\
         ? Écris quelques mots sur ce qui se passe. #id:{id}_q\n\
         @quand photo*, image*, video* -> images\n\
         @quand \"en ligne\", jeu*, discord -> leurre\n\
         @sinon -> {id}_merci\n\
         \n\
         === {id}_merci\n\
         Merci de l'avoir écrit. #id:{id}_merci_texte\n\
         -> menu\n"
    )
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
