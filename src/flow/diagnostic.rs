//! What the parser and the checker tell a flow author: a place, a severity, and a
//! sentence in French or English that a non-programmer understands.

use serde::Serialize;

use super::model::Pos;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// Every problem the parser and checker can find. Each variant carries what its
/// sentence needs; `message` writes the sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    TextOutsideNode,
    BadNodeName {
        name: String,
    },
    EmptyNodeName,
    DuplicateNode {
        name: String,
        first: Pos,
    },
    DuplicateLineId {
        id: String,
        first: Pos,
    },
    BadLineId {
        id: String,
    },
    UnknownInstruction {
        word: String,
    },
    ChoiceWithoutTarget,
    ChoiceWithoutLabel,
    EmptyTarget,
    UnknownTarget {
        name: String,
    },
    BadAssignment,
    AssignmentOutsideNode,
    BadCondition {
        written: String,
    },
    UnclosedCondition,
    RouteWithoutTarget,
    RouteWithoutWords,
    EmptyWord,
    BadHandoffOption {
        option: String,
    },
    ResourceWithoutKey,
    UnknownResource {
        key: String,
    },
    ItemAfterJump,
    JumpAndChoices,
    RoutesWithoutQuestion,
    SecondOtherwise,
    StartNodeMissing {
        name: String,
    },
    UnreachableNode {
        name: String,
    },
    DeadEnd {
        name: String,
    },
    DuplicateChoiceLabel {
        label: String,
    },
    LongMessage {
        chars: usize,
    },
    TriggerLanguageMissing {
        kind: String,
        lang: String,
    },
    TriggerFileMissing,
    TranslationMissing {
        id: String,
        lang: String,
    },
    TranslationStale {
        id: String,
        lang: String,
    },
    TranslationUnknownId {
        id: String,
    },
    BadTranslationLine,
    BadDataFile {
        detail: String,
    },
    ResourceToCheck {
        key: String,
    },
    ResourceWithoutContact {
        key: String,
    },
    UnreadableFile {
        detail: String,
    },
    NoFlowFiles,
    JumpLoop {
        name: String,
    },
    EmptyNode {
        name: String,
    },
    BadReportOption {
        option: String,
    },
    // The content rules (issue 22): what the shipped-flow tests used to be alone to see.
    PhoneNumberInFlow {
        lang: String,
    },
    MenuTooLong {
        count: usize,
    },
    ThemeWithoutDangerButton {
        name: String,
    },
    EndWithoutHelp {
        choice: String,
    },
    PersonTooFar {
        name: String,
        taps: Option<usize>,
    },
    LongButton {
        chars: usize,
    },
    QuestionWithoutOtherwise,
    MalformedLineId {
        written: String,
    },
    MissingHeader {
        name: String,
    },
    UnindentedAssignment {
        var: String,
    },
    UnknownConditionValue {
        var: String,
        value: String,
        known: Vec<String>,
    },
    UnknownConditionVar {
        var: String,
    },
    MissingLineId,
    EssaiFailed {
        said: String,
        expected: String,
        got: String,
    },
    BadEssai {
        detail: String,
    },
    // Blocks of buttons (`=== @bloc nom`, `@inclure nom`).
    BlockContent,
    BadBlockName {
        name: String,
    },
    IncludeWithoutName,
    UnknownBlock {
        name: String,
    },
    DuplicateBlock {
        name: String,
        first: Pos,
    },
    UnusedBlock {
        name: String,
    },
    /// The blocks of a loop of `@inclure`, the first one again at the end.
    BlockCycle {
        chain: Vec<String>,
    },
    EmptyBlock {
        name: String,
    },
    Trigger(super::triggers::TriggerIssue),
}

impl Problem {
    pub(crate) fn severity(&self) -> Severity {
        match self {
            Problem::UnreachableNode { .. }
            | Problem::LongMessage { .. }
            | Problem::TranslationMissing { .. }
            | Problem::TranslationStale { .. }
            | Problem::TranslationUnknownId { .. }
            | Problem::ResourceToCheck { .. }
            | Problem::ThemeWithoutDangerButton { .. }
            | Problem::LongButton { .. }
            | Problem::QuestionWithoutOtherwise
            | Problem::UnindentedAssignment { .. }
            | Problem::UnknownConditionValue { .. }
            | Problem::UnknownConditionVar { .. }
            | Problem::MissingLineId
            | Problem::UnusedBlock { .. }
            | Problem::EmptyBlock { .. } => Severity::Warning,
            Problem::Trigger(issue) => issue.severity(),
            _ => Severity::Error,
        }
    }

    /// A short stable name for editors and tests (`--format json`).
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Problem::TextOutsideNode => "text_outside_node",
            Problem::BadNodeName { .. } => "bad_node_name",
            Problem::EmptyNodeName => "empty_node_name",
            Problem::DuplicateNode { .. } => "duplicate_node",
            Problem::DuplicateLineId { .. } => "duplicate_line_id",
            Problem::BadLineId { .. } => "bad_line_id",
            Problem::UnknownInstruction { .. } => "unknown_instruction",
            Problem::ChoiceWithoutTarget => "choice_without_target",
            Problem::ChoiceWithoutLabel => "choice_without_label",
            Problem::EmptyTarget => "empty_target",
            Problem::UnknownTarget { .. } => "unknown_target",
            Problem::BadAssignment => "bad_assignment",
            Problem::AssignmentOutsideNode => "assignment_outside_node",
            Problem::BadCondition { .. } => "bad_condition",
            Problem::UnclosedCondition => "unclosed_condition",
            Problem::RouteWithoutTarget => "route_without_target",
            Problem::RouteWithoutWords => "route_without_words",
            Problem::EmptyWord => "empty_word",
            Problem::BadHandoffOption { .. } => "bad_handoff_option",
            Problem::ResourceWithoutKey => "resource_without_key",
            Problem::UnknownResource { .. } => "unknown_resource",
            Problem::ItemAfterJump => "item_after_jump",
            Problem::JumpAndChoices => "jump_and_choices",
            Problem::RoutesWithoutQuestion => "routes_without_question",
            Problem::SecondOtherwise => "second_otherwise",
            Problem::StartNodeMissing { .. } => "start_node_missing",
            Problem::UnreachableNode { .. } => "unreachable_node",
            Problem::DeadEnd { .. } => "dead_end",
            Problem::DuplicateChoiceLabel { .. } => "duplicate_choice_label",
            Problem::LongMessage { .. } => "long_message",
            Problem::TriggerLanguageMissing { .. } => "trigger_language_missing",
            Problem::TriggerFileMissing => "trigger_file_missing",
            Problem::TranslationMissing { .. } => "translation_missing",
            Problem::TranslationStale { .. } => "translation_stale",
            Problem::TranslationUnknownId { .. } => "translation_unknown_id",
            Problem::BadTranslationLine => "bad_translation_line",
            Problem::BadDataFile { .. } => "bad_data_file",
            Problem::ResourceToCheck { .. } => "resource_to_check",
            Problem::ResourceWithoutContact { .. } => "resource_without_contact",
            Problem::UnreadableFile { .. } => "unreadable_file",
            Problem::NoFlowFiles => "no_flow_files",
            Problem::JumpLoop { .. } => "jump_loop",
            Problem::EmptyNode { .. } => "empty_node",
            Problem::BadReportOption { .. } => "bad_report_option",
            Problem::PhoneNumberInFlow { .. } => "phone_number_in_flow",
            Problem::MenuTooLong { .. } => "menu_too_long",
            Problem::ThemeWithoutDangerButton { .. } => "theme_without_danger_button",
            Problem::EndWithoutHelp { .. } => "end_without_help",
            Problem::PersonTooFar { .. } => "person_too_far",
            Problem::LongButton { .. } => "long_button",
            Problem::QuestionWithoutOtherwise => "question_without_otherwise",
            Problem::MalformedLineId { .. } => "malformed_line_id",
            Problem::MissingHeader { .. } => "missing_header",
            Problem::UnindentedAssignment { .. } => "unindented_assignment",
            Problem::UnknownConditionValue { .. } => "unknown_condition_value",
            Problem::UnknownConditionVar { .. } => "unknown_condition_var",
            Problem::MissingLineId => "missing_line_id",
            Problem::EssaiFailed { .. } => "essai_failed",
            Problem::BadEssai { .. } => "bad_essai",
            Problem::BlockContent => "block_content",
            Problem::BadBlockName { .. } => "bad_block_name",
            Problem::IncludeWithoutName => "include_without_name",
            Problem::UnknownBlock { .. } => "unknown_block",
            Problem::DuplicateBlock { .. } => "duplicate_block",
            Problem::UnusedBlock { .. } => "unused_block",
            Problem::BlockCycle { .. } => "block_cycle",
            Problem::EmptyBlock { .. } => "empty_block",
            Problem::Trigger(issue) => issue.code(),
        }
    }

    /// The sentence an author reads, in French (`fr`) or English (anything else).
    pub fn message(&self, lang: &str) -> String {
        let fr = lang == "fr";
        match self {
            Problem::TextOutsideNode => if fr {
                "Ce texte est avant le premier nœud. Commence le fichier par une ligne « === nom_du_noeud »."
            } else {
                "This text comes before the first node. Start the file with a line \"=== node_name\"."
            }
            .into(),
            Problem::BadNodeName { name } => if fr {
                format!("Le nom de nœud « {name} » n'est pas valide : utilise seulement des lettres minuscules sans accent, des chiffres, « _ » ou « - ».")
            } else {
                format!("The node name \"{name}\" is not valid: use only lowercase letters without accents, digits, \"_\" or \"-\".")
            },
            Problem::EmptyNodeName => if fr {
                "Il manque le nom du nœud après « === ».".into()
            } else {
                "The node name is missing after \"===\".".into()
            },
            Problem::DuplicateNode { name, first } => if fr {
                format!("Le nœud « {name} » existe déjà ({}:{}). Chaque nœud doit avoir un nom unique.", first.file, first.line)
            } else {
                format!("The node \"{name}\" already exists ({}:{}). Each node needs a unique name.", first.file, first.line)
            },
            Problem::DuplicateLineId { id, first } => if fr {
                format!("L'identifiant « #id:{id} » est déjà utilisé ({}:{}). Chaque ligne doit avoir le sien.", first.file, first.line)
            } else {
                format!("The id \"#id:{id}\" is already used ({}:{}). Each line needs its own.", first.file, first.line)
            },
            Problem::BadLineId { id } => if fr {
                format!("L'identifiant « {id} » n'est pas valide : lettres, chiffres, « _ », « - » ou « . » seulement.")
            } else {
                format!("The id \"{id}\" is not valid: letters, digits, \"_\", \"-\" or \".\" only.")
            },
            Problem::UnknownInstruction { word } => if fr {
                format!("Je ne connais pas l'instruction « @{word} ». Les instructions sont : @ressource, @personne, @quand, @sinon, @fin, @signalement, @resume, @envoyer_signalement, @code_de_suivi, @ajout_signalement, @inclure.")
            } else {
                format!("Unknown instruction \"@{word}\". The instructions are: @ressource, @personne, @quand, @sinon, @fin, @signalement, @resume, @envoyer_signalement, @code_de_suivi, @ajout_signalement, @inclure.")
            },
            Problem::ChoiceWithoutTarget => if fr {
                "Ce choix ne dit pas où il mène. Ajoute « -> nom_du_noeud » à la fin de la ligne. (Une ligne qui commence par « * » est un bouton; pour une liste dans un message, commence par « - ».)".into()
            } else {
                "This choice does not say where it leads. Add \"-> node_name\" at the end of the line. (A line that starts with \"*\" is a button; for a list in a message, start it with \"-\".)".into()
            },
            Problem::ChoiceWithoutLabel => if fr {
                "Ce choix n'a pas de texte à afficher sur le bouton.".into()
            } else {
                "This choice has no text to show on its button.".into()
            },
            Problem::EmptyTarget => if fr {
                "Il manque le nom du nœud après « -> ».".into()
            } else {
                "The node name is missing after \"->\".".into()
            },
            Problem::UnknownTarget { name } => if fr {
                format!("Le nœud « {name} » n'existe dans aucun fichier. Vérifie l'orthographe ou crée-le.")
            } else {
                format!("The node \"{name}\" does not exist in any file. Check the spelling or create it.")
            },
            Problem::BadAssignment => if fr {
                "Une variable s'écrit « ~ nom = valeur ».".into()
            } else {
                "A variable is written \"~ name = value\".".into()
            },
            Problem::AssignmentOutsideNode => if fr {
                "Cette variable est en dehors d'un nœud.".into()
            } else {
                "This variable is outside a node.".into()
            },
            Problem::BadCondition { written } => if fr {
                format!("Je ne comprends pas la condition « {{{written}}} ». Écris par exemple {{si ami = oui}}, {{si ami != oui}}, {{si ami}} ou {{si non ami}}.")
            } else {
                format!("I do not understand the condition \"{{{written}}}\". Write for example {{si ami = oui}}, {{si ami != oui}}, {{si ami}} or {{si non ami}}.")
            },
            Problem::UnclosedCondition => if fr {
                "Il manque « } » pour fermer la condition.".into()
            } else {
                "A \"}\" is missing to close the condition.".into()
            },
            Problem::RouteWithoutTarget => if fr {
                "Cette réponse ne dit pas où elle mène. Ajoute « -> nom_du_noeud ».".into()
            } else {
                "This route does not say where it leads. Add \"-> node_name\".".into()
            },
            Problem::RouteWithoutWords => if fr {
                "Il manque les mots à reconnaître entre « @quand » et « -> ».".into()
            } else {
                "The words to recognize are missing between \"@quand\" and \"->\".".into()
            },
            Problem::EmptyWord => if fr {
                "Un des mots est vide (deux virgules de suite, ou des guillemets vides).".into()
            } else {
                "One of the words is empty (two commas in a row, or empty quotes).".into()
            },
            Problem::BadHandoffOption { option } => if fr {
                format!("Je ne connais pas l'option « {option} » de @personne. Les options sont : urgent, sujet=…, ressources=….")
            } else {
                format!("Unknown option \"{option}\" for @personne. The options are: urgent, sujet=…, ressources=….")
            },
            Problem::ResourceWithoutKey => if fr {
                "Il manque le nom de la ressource après « @ressource ».".into()
            } else {
                "The resource name is missing after \"@ressource\".".into()
            },
            Problem::UnknownResource { key } => if fr {
                format!("La ressource « {key} » n'est pas dans ressources.toml.")
            } else {
                format!("The resource \"{key}\" is not in ressources.toml.")
            },
            Problem::ItemAfterJump => if fr {
                "Cette ligne vient après « -> » ou « @fin » : elle ne serait jamais affichée.".into()
            } else {
                "This line comes after \"->\" or \"@fin\": it would never be shown.".into()
            },
            Problem::JumpAndChoices => if fr {
                "Un nœud ne peut pas à la fois sauter ailleurs (« -> ») et offrir des choix ou attendre une réponse.".into()
            } else {
                "A node cannot both jump elsewhere (\"->\") and offer choices or wait for an answer.".into()
            },
            Problem::RoutesWithoutQuestion => if fr {
                "Ce nœud reconnaît des réponses (@quand) mais ne pose pas de question : ajoute une ligne qui commence par « ? ».".into()
            } else {
                "This node recognizes answers (@quand) but asks no question: add a line that starts with \"?\".".into()
            },
            Problem::SecondOtherwise => if fr {
                "Ce nœud a déjà un « @sinon ».".into()
            } else {
                "This node already has an \"@sinon\".".into()
            },
            Problem::StartNodeMissing { name } => if fr {
                format!("Le nœud de départ « {name} » n'existe pas : la conversation ne peut pas commencer.")
            } else {
                format!("The start node \"{name}\" does not exist: the conversation cannot begin.")
            },
            Problem::UnreachableNode { name } => if fr {
                format!("Aucun chemin ne mène au nœud « {name} » : personne ne le verra.")
            } else {
                format!("No path leads to the node \"{name}\": nobody will see it.")
            },
            Problem::DeadEnd { name } => if fr {
                format!("Le nœud « {name} » est un cul-de-sac : ajoute des choix, un « -> », « @fin », une @ressource ou @personne.")
            } else {
                format!("The node \"{name}\" is a dead end: add choices, a \"->\", \"@fin\", a @ressource or @personne.")
            },
            Problem::DuplicateChoiceLabel { label } => if fr {
                format!("Deux choix de ce nœud ont le même texte « {label} ».")
            } else {
                format!("Two choices of this node have the same text \"{label}\".")
            },
            Problem::LongMessage { chars } => if fr {
                format!("Ce message fait {chars} caractères : au-delà de 280, il est difficile à lire sur un téléphone. Coupe-le en deux lignes.")
            } else {
                format!("This message is {chars} characters long: past 280 it is hard to read on a phone. Split it into two lines.")
            },
            Problem::TriggerLanguageMissing { kind, lang } => if fr {
                format!("Il n'y a pas de mots déclencheurs « {kind} » pour la langue « {lang} ».")
            } else {
                format!("There are no \"{kind}\" trigger words for the language \"{lang}\".")
            },
            Problem::TriggerFileMissing => if fr {
                "Le fichier declencheurs.toml manque : sans lui, un message urgent ne serait pas reconnu.".into()
            } else {
                "The file declencheurs.toml is missing: without it, an urgent message would not be recognized.".into()
            },
            Problem::TranslationMissing { id, lang } => if fr {
                format!("La ligne « {id} » n'est pas traduite en « {lang} » : le texte français sera montré.")
            } else {
                format!("The line \"{id}\" is not translated into \"{lang}\": the French text will be shown.")
            },
            Problem::TranslationStale { id, lang } => if fr {
                format!("La ligne « {id} » a changé depuis sa traduction en « {lang} » : le texte français sera montré tant qu'elle n'est pas revue.")
            } else {
                format!("The line \"{id}\" changed since it was translated into \"{lang}\": the French text will be shown until it is reviewed.")
            },
            Problem::TranslationUnknownId { id } => if fr {
                format!("Cette traduction vise la ligne « {id} », qui n'existe plus.")
            } else {
                format!("This translation is for the line \"{id}\", which no longer exists.")
            },
            Problem::BadTranslationLine => if fr {
                "Une ligne de traduction s'écrit « identifiant [empreinte] texte ».".into()
            } else {
                "A translation line is written \"id [hash] text\".".into()
            },
            Problem::BadDataFile { detail } => if fr {
                format!("Ce fichier de données est mal écrit : {detail}")
            } else {
                format!("This data file is malformed: {detail}")
            },
            Problem::ResourceToCheck { key } => if fr {
                format!("La ressource « {key} » est marquée « a_verifier » : confirme ses coordonnées avant de déployer.")
            } else {
                format!("The resource \"{key}\" is marked \"a_verifier\": confirm its details before deploying.")
            },
            Problem::ResourceWithoutContact { key } => if fr {
                format!("La ressource « {key} » n'a ni téléphone, ni texto, ni site.")
            } else {
                format!("The resource \"{key}\" has no phone, text number or website.")
            },
            Problem::UnreadableFile { detail } => if fr {
                format!("Je n'arrive pas à lire ce fichier ou ce dossier : {detail}")
            } else {
                format!("I cannot read this file or folder: {detail}")
            },
            Problem::NoFlowFiles => if fr {
                "Ce dossier ne contient aucun fichier .flow.".into()
            } else {
                "This folder holds no .flow file.".into()
            },
            Problem::JumpLoop { name } => if fr {
                format!("Les sauts « -> » tournent en rond à partir du nœud « {name} » : la conversation ne s'arrêterait jamais.")
            } else {
                format!("The \"->\" jumps go round in a circle from the node \"{name}\": the conversation would never stop.")
            },
            Problem::BadReportOption { option } => if fr {
                format!("Je ne comprends pas « {option} ». Écris @signalement champ=nom, ou @code_de_suivi trouve=noeud introuvable=noeud.")
            } else {
                format!("I do not understand \"{option}\". Write @signalement champ=name, or @code_de_suivi trouve=node introuvable=node.")
            },
            Problem::EmptyNode { name } => if fr {
                format!("Le nœud « {name} » n'affiche rien : ajoute au moins une ligne de texte.")
            } else {
                format!("The node \"{name}\" shows nothing: add at least one line of text.")
            },
            Problem::Trigger(issue) => issue.message(fr),
            Problem::PhoneNumberInFlow { lang } => match (fr, lang.as_str()) {
                (true, "fr") => "Un numéro est écrit dans le message. Mets-le dans ressources.toml et affiche-le avec « @ressource cle » (seuls 911 et 811 peuvent s'écrire).".into(),
                (true, _) => format!("Un numéro est écrit dans la traduction « {lang} ». Les numéros viennent de ressources.toml : enlève-le et affiche la ressource avec « @ressource cle »."),
                (false, "fr") => "A phone number is written in the message. Put it in ressources.toml and show it with \"@ressource key\" (only 911 and 811 may be written).".into(),
                (false, _) => format!("A phone number is written in the \"{lang}\" translation. Numbers come from ressources.toml: remove it and show the resource with \"@ressource key\"."),
            },
            Problem::MenuTooLong { count } => if fr {
                format!("Le menu a {count} choix : garde-en de 5 à 9 (les jeunes choisissent aussi par chiffre). Déplace un thème sous « Il se passe quelque chose avec moi ».")
            } else {
                format!("The menu has {count} choices: keep 5 to 9 (youths also pick by number). Move a theme under \"Il se passe quelque chose avec moi\".")
            },
            Problem::ThemeWithoutDangerButton { name } => if fr {
                format!("Le nœud de thème « {name} » n'a pas de bouton vers « urgence » : ajoute « * Je suis en danger maintenant -> urgence #id:… ».")
            } else {
                format!("The theme node \"{name}\" has no button to \"urgence\": add \"* Je suis en danger maintenant -> urgence #id:…\".")
            },
            Problem::EndWithoutHelp { choice } => if fr {
                format!("Ce chemin (« {choice} ») finit la conversation sans qu'une ressource ou une personne ait été offerte. Ajoute une @ressource avant « -> fin », ou mène vers « parler ».")
            } else {
                format!("This path (\"{choice}\") ends the conversation without a resource or a person offered. Add a @ressource before \"-> fin\", or lead to \"parler\".")
            },
            Problem::PersonTooFar { name, taps } => match (fr, taps) {
                (true, Some(taps)) => format!("Depuis « {name} », une personne est à {taps} touches : ajoute « * Parler à une personne -> parler » pour qu'elle soit à deux touches au plus."),
                (true, None) => format!("Depuis « {name} », on n'arrive jamais à une personne : ajoute « * Parler à une personne -> parler »."),
                (false, Some(taps)) => format!("From \"{name}\", a person is {taps} taps away: add \"* Parler à une personne -> parler\" so one is two taps away at most."),
                (false, None) => format!("From \"{name}\", no person is ever reached: add \"* Parler à une personne -> parler\"."),
            },
            Problem::LongButton { chars } => if fr {
                format!("Ce bouton fait {chars} caractères : au-delà de {}, il déborde sur un téléphone. Raccourcis-le et mets le détail dans le message.", crate::flow::check::LONG_BUTTON)
            } else {
                format!("This button is {chars} characters long: past {} it overflows on a phone. Shorten it and put the detail in the message.", crate::flow::check::LONG_BUTTON)
            },
            Problem::QuestionWithoutOtherwise => if fr {
                "Cette question n'a pas de @sinon : une réponse non reconnue fera répéter « Je n'ai pas bien compris ». Ajoute « @sinon -> noeud ».".into()
            } else {
                "This question has no @sinon: an answer no route knows will repeat \"I did not quite understand\". Add \"@sinon -> node\".".into()
            },
            Problem::MalformedLineId { written } => if fr {
                format!("« {written} » ressemble à un identifiant mal écrit : le ou la jeune le verrait. Écris-le « #id:nom » (minuscules, deux-points, sans espace).")
            } else {
                format!("\"{written}\" looks like a misspelled id: the youth would see it. Write it \"#id:name\" (lowercase, a colon, no space).")
            },
            Problem::MissingHeader { name } => if fr {
                format!("Il manque « === » devant « {name} » ? Sans lui, « {name} » est un message du nœud précédent. Écris « === {name} ».")
            } else {
                format!("Is \"===\" missing before \"{name}\"? Without it, \"{name}\" is a message of the node above. Write \"=== {name}\".")
            },
            Problem::UnindentedAssignment { var } => if fr {
                format!("La variable « {var} » est sous un choix, sans retrait : elle s'applique à l'entrée du nœud, pour tout le monde. Mets deux espaces devant si elle appartient au choix du dessus.")
            } else {
                format!("The variable \"{var}\" is under a choice, not indented: it is set on entering the node, for everyone. Put two spaces before it if it belongs to the choice above.")
            },
            Problem::UnknownConditionValue { var, value, known } => if fr {
                format!("Aucun nœud ne donne la valeur « {value} » à « {var} » : cette condition ne sera jamais vraie (valeurs connues : {}).", known.join(", "))
            } else {
                format!("No node gives the value \"{value}\" to \"{var}\": this condition is never true (known values: {}).", known.join(", "))
            },
            Problem::UnknownConditionVar { var } => if fr {
                format!("Aucun nœud ne donne de valeur à « {var} » (« ~ {var} = … ») : cette condition ne change jamais.")
            } else {
                format!("No node gives \"{var}\" a value (\"~ {var} = …\"): this condition never changes.")
            },
            Problem::MissingLineId => if fr {
                "Cette ligne n'a pas de « #id:… » : sa traduction se perdra si une ligne est ajoutée au-dessus. Lance « relais flows ids --add » pour les écrire.".into()
            } else {
                "This line has no \"#id:…\": its translation is lost when a line is added above. Run \"relais flows ids --add\" to write them.".into()
            },
            Problem::EssaiFailed { said, expected, got } => if fr {
                format!("Essai raté : « {said} » devait mener à « {expected} », il mène à « {got} ». Ajoute les mots qui manquent à un @quand, ou corrige l'essai.")
            } else {
                format!("Test failed: \"{said}\" should lead to \"{expected}\", it leads to \"{got}\". Add the missing words to an @quand, or fix the test.")
            },
            Problem::BadEssai { detail } => if fr {
                format!("Cet essai est mal écrit : {detail}")
            } else {
                format!("This test is malformed: {detail}")
            },
            Problem::BlockContent => if fr {
                "Un bloc ne contient que des boutons (« * texte -> noeud », avec leurs « ~ » en retrait) et des « @inclure autre_bloc ». Mets cette ligne dans un nœud, ou commence un nœud avant elle avec « === nom ».".into()
            } else {
                "A block holds only buttons (\"* text -> node\", with their indented \"~\") and \"@inclure other_block\". Put this line in a node, or start a node before it with \"=== name\".".into()
            },
            Problem::BadBlockName { name } if name.is_empty() => if fr {
                "Il manque le nom du bloc après « === @bloc ».".into()
            } else {
                "The block's name is missing after \"=== @bloc\".".into()
            },
            Problem::BadBlockName { name } => if fr {
                format!("Le nom de bloc « {name} » n'est pas valide : utilise seulement des lettres minuscules sans accent, des chiffres, « _ » ou « - ».")
            } else {
                format!("The block name \"{name}\" is not valid: use only lowercase letters without accents, digits, \"_\" or \"-\".")
            },
            Problem::IncludeWithoutName => if fr {
                "Il manque le nom du bloc après « @inclure » (un bloc s'écrit « === @bloc nom »).".into()
            } else {
                "The block's name is missing after \"@inclure\" (a block is written \"=== @bloc name\").".into()
            },
            Problem::UnknownBlock { name } => if fr {
                format!("Le bloc « {name} » n'existe dans aucun fichier. Écris-le une fois avec « === @bloc {name} » suivi de ses boutons, ou vérifie l'orthographe.")
            } else {
                format!("The block \"{name}\" does not exist in any file. Write it once with \"=== @bloc {name}\" followed by its buttons, or check the spelling.")
            },
            Problem::DuplicateBlock { name, first } => if fr {
                format!("Le bloc « {name} » existe déjà ({}:{}). Chaque bloc doit avoir un nom unique.", first.file, first.line)
            } else {
                format!("The block \"{name}\" already exists ({}:{}). Each block needs a unique name.", first.file, first.line)
            },
            Problem::UnusedBlock { name } => if fr {
                format!("Le bloc « {name} » n'est inclus nulle part : ajoute « @inclure {name} » dans un nœud, ou enlève le bloc.")
            } else {
                format!("The block \"{name}\" is included nowhere: add \"@inclure {name}\" to a node, or remove the block.")
            },
            Problem::BlockCycle { chain } => if fr {
                format!("Ces blocs s'incluent en rond ({}) : la liste de boutons ne finirait jamais. Enlève un des « @inclure ».", chain.join(" → "))
            } else {
                format!("These blocks include each other in a circle ({}): the list of buttons would never end. Remove one of the \"@inclure\".", chain.join(" → "))
            },
            Problem::EmptyBlock { name } => if fr {
                format!("Le bloc « {name} » n'a aucun bouton : ajoute des lignes « * texte -> noeud » sous « === @bloc {name} ».")
            } else {
                format!("The block \"{name}\" has no button: add \"* text -> node\" lines under \"=== @bloc {name}\".")
            },
        }
    }
}

/// What the checker adds to a sentence when it knows more: the name the author
/// probably meant, what exists, or where the other half of the problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hint {
    /// «Voulais-tu dire « renc_securite » (rencontre.flow:30) ?»
    DidYouMean { name: String, at: Option<Pos> },
    /// The names that exist (resource keys), when none is close.
    Known { names: Vec<String> },
    /// An unreachable node reported once for the nodes reached only through it.
    AlsoUnreachable { count: usize },
    /// The first of two duplicates, and its node.
    FirstAt { node: String, at: Pos },
    /// The unknown name is written as a text line there: its `===` is missing.
    HeaderMissingAt { at: Pos },
    /// A translation's French line, where the edit was made.
    FrenchAt { at: Pos },
    /// The blocks that exist, when none is close to the name written.
    KnownBlocks { names: Vec<String> },
}

impl Hint {
    pub(crate) fn message(&self, lang: &str) -> String {
        let fr = lang == "fr";
        match self {
            Hint::DidYouMean { name, at: Some(at) } if fr => {
                format!("Voulais-tu dire « {name} » ({}:{}) ?", at.file, at.line)
            }
            Hint::DidYouMean { name, at: Some(at) } => {
                format!("Did you mean \"{name}\" ({}:{})?", at.file, at.line)
            }
            Hint::DidYouMean { name, at: None } if fr => format!("Voulais-tu dire « {name} » ?"),
            Hint::DidYouMean { name, at: None } => format!("Did you mean \"{name}\"?"),
            Hint::Known { names } if fr => format!("Les clés existantes : {}.", names.join(", ")),
            Hint::Known { names } => format!("The existing keys: {}.", names.join(", ")),
            Hint::AlsoUnreachable { count: 1 } if fr => "Le nœud qu'on n'atteint que par lui non plus : ajoute un choix qui y mène (par exemple dans le menu).".into(),
            Hint::AlsoUnreachable { count } if fr => format!(
                "Les {count} nœuds qu'on n'atteint que par lui non plus : ajoute un choix qui y mène (par exemple dans le menu)."
            ),
            Hint::AlsoUnreachable { count: 1 } => "Nor the node reached only through it: add a choice that leads to it (in the menu, for example).".into(),
            Hint::AlsoUnreachable { count } => format!(
                "Nor the {count} nodes reached only through it: add a choice that leads to it (in the menu, for example)."
            ),
            Hint::FirstAt { node, at } if fr => format!(
                "Dans le nœud « {node} », le premier est à la ligne {}:{}.",
                at.file, at.line
            ),
            Hint::FirstAt { node, at } => format!(
                "In the node \"{node}\", the first one is at {}:{}.",
                at.file, at.line
            ),
            Hint::HeaderMissingAt { at } if fr => format!(
                "Il est écrit comme un message à {}:{} : il manque « === » devant ?",
                at.file, at.line
            ),
            Hint::HeaderMissingAt { at } => format!(
                "It is written as a message at {}:{}: is \"===\" missing before it?",
                at.file, at.line
            ),
            Hint::FrenchAt { at } if fr => {
                format!("La phrase française est à {}:{}.", at.file, at.line)
            }
            Hint::FrenchAt { at } => format!("The French line is at {}:{}.", at.file, at.line),
            Hint::KnownBlocks { names } if names.is_empty() && fr => {
                "Aucun bloc n'existe encore.".into()
            }
            Hint::KnownBlocks { names } if names.is_empty() => "No block exists yet.".into(),
            Hint::KnownBlocks { names } if fr => {
                format!("Les blocs existants : {}.", names.join(", "))
            }
            Hint::KnownBlocks { names } => format!("The existing blocks: {}.", names.join(", ")),
        }
    }
}

/// A problem at a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub pos: Pos,
    pub problem: Problem,
    pub hint: Option<Box<Hint>>,
}

impl Diagnostic {
    pub(crate) fn new(pos: Pos, problem: Problem) -> Self {
        Self {
            pos,
            problem,
            hint: None,
        }
    }

    pub(crate) fn with_hint(mut self, hint: Option<Hint>) -> Self {
        self.hint = hint.map(Box::new);
        self
    }

    pub(crate) fn severity(&self) -> Severity {
        self.problem.severity()
    }

    pub(crate) fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }

    /// The sentence with its hint, if any.
    pub(crate) fn message(&self, lang: &str) -> String {
        match &self.hint {
            Some(hint) => format!("{} {}", self.problem.message(lang), hint.message(lang)),
            None => self.problem.message(lang),
        }
    }

    /// `file:line:col: erreur: sentence`, the form every tool prints.
    pub fn render(&self, lang: &str) -> String {
        let severity = match (self.severity(), lang) {
            (Severity::Error, "fr") => "erreur",
            (Severity::Warning, "fr") => "avertissement",
            (Severity::Error, _) => "error",
            (Severity::Warning, _) => "warning",
        };
        format!(
            "{}:{}:{}: {severity}: {}",
            self.pos.file,
            self.pos.line,
            self.pos.col,
            self.message(lang)
        )
    }
}

/// The JSON form of a diagnostic, for editors (`relais flows check --format json`).
#[derive(Debug, Serialize)]
pub(crate) struct DiagnosticJson {
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
}

impl Diagnostic {
    pub(crate) fn to_json(&self, lang: &str) -> DiagnosticJson {
        DiagnosticJson {
            file: self.pos.file.clone(),
            line: self.pos.line,
            col: self.pos.col,
            severity: self.severity(),
            code: self.problem.code(),
            message: self.message(lang),
        }
    }
}
