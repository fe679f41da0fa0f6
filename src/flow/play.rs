//! Playing a flow in a terminal (`relais flows try`) or in the authors' page: each
//! turn written out with the node ids, the variables, which trigger or pattern fired,
//! and which resource or handoff would happen. Pure: the same inputs always print
//! the same transcript, so tests compare it with a file.

use super::engine::{self, Input, Output, State, Trace};
use super::model::FlowSet;

/// What an author typed, read as the engine's input: a number picks the Nth choice
/// shown, `#id` a choice by id, `/recommencer` (or `/restart`) starts again,
/// anything else is free text.
pub(crate) enum Typed {
    Input(String),
    Choice(String),
    Restart,
}

pub(crate) fn read(line: &str, set: &FlowSet, state: &State) -> Typed {
    let line = line.trim();
    if line == "/recommencer" || line == "/restart" {
        return Typed::Restart;
    }
    if let Some(id) = line.strip_prefix('#') {
        return Typed::Choice(id.to_string());
    }
    if let Ok(n) = line.parse::<usize>() {
        if let Some(node) = state.node.as_deref().and_then(|n| set.nodes.get(n)) {
            if let Some(choice) =
                engine::visible_choices(node, &state.vars).nth(n.saturating_sub(1))
            {
                if n > 0 {
                    return Typed::Choice(choice.label.id.clone());
                }
            }
        }
    }
    Typed::Input(line.to_string())
}

/// Runs one typed line; returns the step and its transcript.
pub(crate) fn play(
    set: &FlowSet,
    state: &mut State,
    typed: &Typed,
    ui: &str,
) -> (engine::Step, String) {
    let step = match typed {
        Typed::Input(text) => engine::step(set, state, Input::Text(text)),
        Typed::Choice(id) => engine::step(set, state, Input::Choose(id)),
        Typed::Restart => engine::step(set, state, Input::Restart),
    };
    let transcript = describe(state, &step, ui);
    (step, transcript)
}

/// Starts a conversation (at the start node, or at `from`); returns the step and
/// its transcript.
pub(crate) fn start(
    set: &FlowSet,
    state: &mut State,
    from: Option<&str>,
    ui: &str,
) -> (engine::Step, String) {
    let step = match from {
        Some(node) => {
            state.vars.insert("langue".into(), state.lang.clone());
            engine::enter(set, state, node)
        }
        None => engine::step(set, state, Input::Start),
    };
    let transcript = describe(state, &step, ui);
    (step, transcript)
}

fn describe(state: &State, step: &engine::Step, ui: &str) -> String {
    let fr = ui == "fr";
    let mut out = String::new();
    if step.not_expected {
        out.push_str(if fr {
            "  (ce choix n'est pas proposé ici)\n"
        } else {
            "  (this choice is not offered here)\n"
        });
        return out;
    }
    // Traces and outputs, in the order they happened.
    let mut written = 0;
    for (index, trace) in step.trace.iter().enumerate() {
        let at = step.trace_at.get(index).copied().unwrap_or(0);
        while written < at.min(step.outputs.len()) {
            write_output(&mut out, &step.outputs[written], fr);
            written += 1;
        }
        let line = match trace {
            Trace::Entered(node) => format!("[{node}]"),
            Trace::UrgentTrigger(p) => format!(
                "  ! {} « {p} »",
                if fr {
                    "déclencheur urgent"
                } else {
                    "urgent trigger"
                }
            ),
            Trace::VerifyTrigger(p) => format!(
                "  ? {} « {p} »",
                if fr {
                    "déclencheur à vérifier"
                } else {
                    "trigger to verify"
                }
            ),
            Trace::HelpTrigger(p) => format!(
                "  ! {} « {p} »",
                if fr {
                    "déclencheur d'aide"
                } else {
                    "help trigger"
                }
            ),
            Trace::Route(p) => format!(
                "  ~ {} « {p} »",
                if fr {
                    "réponse reconnue"
                } else {
                    "route matched"
                }
            ),
            Trace::Otherwise => format!(
                "  ~ {}",
                if fr {
                    "aucun mot reconnu : @sinon"
                } else {
                    "no word matched: @sinon"
                }
            ),
            Trace::ChoiceByText(id) => format!(
                "  ~ {} #{id}",
                if fr {
                    "texte lu comme le choix"
                } else {
                    "text read as the choice"
                }
            ),
            Trace::Set { var, value } => format!("  {var} = {value}"),
            Trace::NotUnderstood => {
                format!("  ? {}", if fr { "non compris" } else { "not understood" })
            }
            Trace::Theme { node, phrase } => format!(
                "  ~ {} « {phrase} » -> {node}",
                if fr {
                    "thème reconnu"
                } else {
                    "theme recognised"
                }
            ),
            Trace::ResourceShown(_) => continue,
        };
        out.push_str(&line);
        out.push('\n');
    }
    for output in &step.outputs[written..] {
        write_output(&mut out, output, fr);
    }
    let vars: Vec<String> = state.vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
    out.push_str(&format!("  {{{}}}\n", vars.join(" ")));
    out
}

fn target_name(target: &crate::flow::model::Target) -> &str {
    match target {
        crate::flow::model::Target::Node { name, .. } => name,
        crate::flow::model::Target::End { .. } => "fin",
    }
}

fn write_output(out: &mut String, output: &Output, fr: bool) {
    match output {
        Output::Bot(bot) => {
            if !bot.text.is_empty() {
                out.push_str(&format!("  bot: {}\n", bot.text));
            }
            for card in &bot.resources {
                let contact = [
                    card.phone.as_deref(),
                    card.text.as_deref(),
                    card.url.as_deref(),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ");
                out.push_str(&format!(
                    "  {}: {} ({}) {contact}\n",
                    if fr { "ressource" } else { "resource" },
                    card.name,
                    card.key
                ));
            }
            for (index, choice) in bot.choices.iter().enumerate() {
                out.push_str(&format!(
                    "  {}) {} #{}\n",
                    index + 1,
                    choice.label,
                    choice.id
                ));
            }
            if bot.asks_text {
                out.push_str(if fr {
                    "  (attend du texte)\n"
                } else {
                    "  (waits for text)\n"
                });
            }
        }
        Output::Handoff(request) => {
            let keys: Vec<&str> = request.resources.iter().map(|r| r.key.as_str()).collect();
            out.push_str(&format!(
                "  => {}{} {}={} ; {} : {}\n",
                if fr { "personne" } else { "person" },
                if request.urgent { " URGENT" } else { "" },
                if fr { "sujet" } else { "topic" },
                request.topic,
                if fr {
                    "si personne n'est disponible"
                } else {
                    "if nobody is available"
                },
                keys.join(", ")
            ));
        }
        Output::End => out.push_str(if fr { "  -- fin --\n" } else { "  -- end --\n" }),
        Output::ReportField { field, value } => out.push_str(&format!(
            "  {} {field} = « {value} »\n",
            if fr { "signalement :" } else { "report:" }
        )),
        Output::ReportSummary => out.push_str(if fr {
            "  (résumé du signalement)\n"
        } else {
            "  (report summary)\n"
        }),
        Output::ReportSubmit => out.push_str(if fr {
            "  => signalement envoyé, code de suivi affiché\n"
        } else {
            "  => report sent, receipt shown\n"
        }),
        Output::ReceiptTyped { found, missing, .. } => out.push_str(&format!(
            "  {} {} / {}\n",
            if fr {
                "code de suivi vérifié : trouvé ->"
            } else {
                "receipt checked: found ->"
            },
            target_name(found),
            target_name(missing)
        )),
        Output::LowerUrgency => out.push_str(if fr {
            "  => la demande n'est plus urgente\n"
        } else {
            "  => the request is no longer urgent\n"
        }),
        Output::ReportAppend { .. } => out.push_str(if fr {
            "  (ajouté au signalement)\n"
        } else {
            "  (added to the report)\n"
        }),
    }
}

/// What `/help` prints in `flows try`.
pub(crate) fn help(ui: &str) -> &'static str {
    if ui == "fr" {
        "  1, 2, … : choisit le bouton de ce numéro\n  #id : choisit le bouton de cet identifiant\n  /recommencer : recommence au début\n  /quitter : sort\n  autre chose : ce que le ou la jeune écrit (les mots urgents passent avant tout)\n  [fr] devant une ligne : elle n'est pas traduite dans cette langue"
    } else {
        "  1, 2, …: picks the button of that number\n  #id: picks the button with that id\n  /restart: starts again\n  /quit: leaves\n  anything else: what the youth writes (urgent words come first)\n  [fr] before a line: it is not translated into this language"
    }
}

/// Marks with `[fr]` the bot lines and buttons of a transcript that are shown in
/// French in another language (their translation is missing or stale).
pub(crate) fn mark_untranslated(set: &FlowSet, lang: &str, transcript: &str) -> String {
    if lang == super::model::SOURCE_LANG {
        return transcript.to_string();
    }
    let translated = set.rendered.get(lang);
    let french: std::collections::HashSet<&str> = set
        .nodes
        .values()
        .flat_map(|n| n.text_lines())
        .filter(|l| translated.is_none_or(|t| !t.contains_key(&l.id)))
        .filter_map(|l| set.rendered.get(super::model::SOURCE_LANG)?.get(&l.id))
        .map(|r| &*r.text)
        .collect();
    let mut out = String::with_capacity(transcript.len());
    for line in transcript.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let text = body.strip_prefix("  bot: ").or_else(|| {
            let rest = body.trim_start();
            let (number, label) = rest.split_once(") ")?;
            number.parse::<usize>().ok()?;
            Some(label.rsplit_once(" #").map_or(label, |(l, _)| l))
        });
        match text {
            Some(text) if french.contains(text) => {
                let indent = body.len() - body.trim_start().len();
                out.push_str(&body[..indent]);
                out.push_str("[fr] ");
                out.push_str(body.trim_start());
                out.push('\n');
            }
            _ => out.push_str(line),
        }
    }
    out
}
