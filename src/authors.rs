//! The authors' API behind the preview page (`/auteurs`): the flow graph (the same
//! data as `relais flows graph`), a stateless player that runs any flow from any
//! node in any language with the variables shown, and the version history. For
//! accounts with the author or supervisor role; nothing here touches a youth's data.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::error::ApiError;
use crate::flow::engine::{Output, State as FlowState};
use crate::flow::graph::Graph;
use crate::flow::play::{self, Typed};
use crate::http::{ApiJson, Authed};
use crate::protocol::{FlowStatus, GraphResponse, ResourceWire, VersionItem};
pub(crate) use crate::protocol::{
    PlayFrame, PlayInput, PlayRequest, PlayResponse, PlayState, PreviewFrame,
};

/// What the authors' API uses of the server: the flows, the configuration, and
/// the accounts and limits behind [`Authed`].
#[derive(Clone, axum::extract::FromRef)]
pub(crate) struct AuthorsState {
    pub flows: std::sync::Arc<crate::flow::FlowLibrary>,
    pub config: std::sync::Arc<crate::config::Config>,
    pub accounts: std::sync::Arc<crate::auth::Accounts>,
    pub limits: std::sync::Arc<crate::limits::Limits>,
}

pub(crate) fn routes() -> Router<AuthorsState> {
    Router::new()
        .route("/api/flows/graph", get(graph))
        .route("/api/flows/play", post(play))
        .route("/api/flows/versions", get(versions))
        .route("/api/flows/status", get(status))
}

fn author(who: &crate::auth::Intervenor) -> Result<(), ApiError> {
    if who.writes_flows() {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

async fn graph(State(app): State<AuthorsState>, Authed(who): Authed) -> Result<Response, ApiError> {
    author(&who)?;
    let flows = app.flows.current();
    Ok(Json(GraphResponse {
        graph: Graph::of(&flows),
        languages: flows.languages(),
        last_edit: app.flows.last_edit(),
        version: flows.version.clone(),
    })
    .into_response())
}

/// The version serving and what happened to the last edit of the folder, for the
/// page to poll: a refused edit shows its diagnostics, an accepted one says so.
async fn status(
    State(app): State<AuthorsState>,
    Authed(who): Authed,
) -> Result<Response, ApiError> {
    author(&who)?;
    Ok(Json(FlowStatus {
        last_edit: app.flows.last_edit(),
        version: app.flows.current().version.clone(),
    })
    .into_response())
}

async fn play(
    State(app): State<AuthorsState>,
    Authed(who): Authed,
    ApiJson(request): ApiJson<PlayRequest>,
) -> Result<Json<PlayResponse>, ApiError> {
    author(&who)?;
    let flows = app.flows.current();
    let lang = if flows.has_language(&request.lang) {
        request.lang
    } else {
        "fr".into()
    };
    let ui = if lang == "fr" { "fr" } else { "en" };
    let mut state = FlowState {
        lang: lang.clone(),
        ..Default::default()
    };
    let (step, transcript) = match (request.state, request.input) {
        (Some(saved), Some(input)) => {
            state.node = saved.node;
            state.vars = saved.vars;
            let typed = match input {
                PlayInput::Choose { id } => Typed::Choice(id),
                PlayInput::Text { text } => Typed::Input(text),
                PlayInput::Restart => Typed::Restart,
            };
            play::play(&flows, &mut state, &typed, ui)
        }
        _ => {
            if let Some(node) = &request.from {
                if !flows.nodes.contains_key(node) {
                    return Err(ApiError::NotFound);
                }
            }
            play::start(&flows, &mut state, request.from.as_deref(), ui)
        }
    };
    let frames = step
        .outputs
        .iter()
        .map(|output| match output {
            Output::Bot(bot) => PlayFrame::Chat(crate::protocol::Event::from(bot)),
            Output::Handoff(request) => PlayFrame::Preview(PreviewFrame::Handoff {
                urgent: request.urgent,
                topic: request.topic.clone(),
                resources: request.resources.iter().map(ResourceWire::from).collect(),
            }),
            Output::End => PlayFrame::Preview(PreviewFrame::End),
            // Reports are never stored from a preview: shown as what would happen.
            _ => PlayFrame::Preview(PreviewFrame::Report),
        })
        .collect();
    Ok(Json(PlayResponse {
        frames,
        not_expected: step.not_expected,
        state: PlayState {
            node: state.node,
            vars: state.vars,
        },
        transcript,
    }))
}

async fn versions(
    State(app): State<AuthorsState>,
    Authed(who): Authed,
) -> Result<Response, ApiError> {
    author(&who)?;
    let serving = app.flows.current().version.clone();
    let list: Vec<VersionItem> = crate::store::archived_flow_versions(&app.config.data_dir)?
        .into_iter()
        .map(|v| VersionItem {
            files: v.sources.keys().filter(|k| k.ends_with(".flow")).count(),
            loaded_at: v.loaded_at,
            serving: v.version == serving,
            version: v.version,
        })
        .collect();
    Ok(Json(list).into_response())
}
