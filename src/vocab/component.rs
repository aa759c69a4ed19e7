//! The parts of the backend a server-side close can blame. The gateway
//! names one in a 1011's reason, the trace records it, and a scenario's
//! `[expect]` names it (`component = "message_router"`).

/// The part of the backend a server-side close blames: a 1011's reason
/// starts with its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Component {
    AuthHandler,
    AuthClient,
    MessageRouter,
    AgentPipeline,
    EventSerialiser,
}

impl Component {
    pub const ALL: [Component; 5] = [
        Component::AuthHandler,
        Component::AuthClient,
        Component::MessageRouter,
        Component::AgentPipeline,
        Component::EventSerialiser,
    ];

    /// The name a scenario's expectation uses (`message_router`).
    pub fn key(self) -> &'static str {
        match self {
            Component::AuthHandler => "auth_handler",
            Component::AuthClient => "auth_client",
            Component::MessageRouter => "message_router",
            Component::AgentPipeline => "agent_pipeline",
            Component::EventSerialiser => "event_serialiser",
        }
    }

    /// The words a close reason starts with (`message router`).
    pub fn words(self) -> &'static str {
        match self {
            Component::AuthHandler => "auth handler",
            Component::AuthClient => "auth client",
            Component::MessageRouter => "message router",
            Component::AgentPipeline => "agent pipeline",
            Component::EventSerialiser => "event serialiser",
        }
    }

    pub fn from_key(key: &str) -> Option<Component> {
        Component::ALL.into_iter().find(|c| c.key() == key)
    }
}
