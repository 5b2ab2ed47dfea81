//! The kinds a ticket's fields take: why it was opened, where it stands, why it was closed.

use serde::{Deserialize, Serialize};

/// Why a ticket was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketReason {
    /// The assistant was not sure.
    Handoff,
    /// The person asked for a human.
    Asked,
    /// The person said an answer did not help.
    NotHelpful,
    /// Something failed inside.
    Internal,
    /// Choices were offered and nobody picked one in time.
    UnpickedClarify,
    /// The person's own case or one specific fact, which only a person can answer.
    Specific,
}

impl TicketReason {
    pub const ALL: [TicketReason; 6] = [
        TicketReason::Handoff,
        TicketReason::Asked,
        TicketReason::NotHelpful,
        TicketReason::Internal,
        TicketReason::UnpickedClarify,
        TicketReason::Specific,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketReason::Handoff => "handoff",
            TicketReason::Asked => "asked",
            TicketReason::NotHelpful => "not_helpful",
            TicketReason::Internal => "internal",
            TicketReason::UnpickedClarify => "unpicked_clarify",
            TicketReason::Specific => "specific",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The reason as operators read it.
    pub fn label(self) -> &'static str {
        match self {
            TicketReason::Handoff => "机器人没把握",
            TicketReason::Asked => "用户要求转人工",
            TicketReason::NotHelpful => "用户反馈没帮助",
            TicketReason::Internal => "系统故障",
            TicketReason::UnpickedClarify => "给出选项后用户未选择",
            TicketReason::Specific => "具体个案，需人工核实",
        }
    }
}

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    Open,
    Answered,
    Closed,
}

impl TicketState {
    pub const ALL: [TicketState; 3] = [TicketState::Open, TicketState::Answered, TicketState::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketState::Open => "open",
            TicketState::Answered => "answered",
            TicketState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The state as operators read it.
    pub fn label(self) -> &'static str {
        match self {
            TicketState::Open => "待处理",
            TicketState::Answered => "已答复、待转达",
            TicketState::Closed => "已关闭",
        }
    }
}

/// Why a ticket was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The operator's answer reached the person.
    Relayed,
    /// The question became knowledge.
    Promoted,
    /// The same question is handled in another ticket.
    Duplicate,
    /// Not a customs matter.
    OutOfScope,
}

impl CloseReason {
    pub const ALL: [CloseReason; 4] = [
        CloseReason::Relayed,
        CloseReason::Promoted,
        CloseReason::Duplicate,
        CloseReason::OutOfScope,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Relayed => "relayed",
            CloseReason::Promoted => "promoted",
            CloseReason::Duplicate => "duplicate",
            CloseReason::OutOfScope => "out_of_scope",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The reason as operators read it.
    pub fn label(self) -> &'static str {
        match self {
            CloseReason::Relayed => "已答复",
            CloseReason::Promoted => "已转为知识",
            CloseReason::Duplicate => "重复",
            CloseReason::OutOfScope => "非海关业务",
        }
    }
}
