//! Terminal recordings, the live view and terminating one session: the customer's use
//! cases (same visibility as the history endpoints), the broker's storage calls, and
//! the retention sweep.

use crate::domain::recording::{MAX_TERMINATE_REASON, RecordingInfo};
use crate::domain::session::{SessionRefused, SessionSource};
use crate::domain::validation::optional_text;
use crate::domain::{Principal, SessionId};
use crate::store::{RecordingChunk, SessionFacts, SessionRef};

use super::live_view::Subscription;
use super::{App, ServiceError, ServiceResult, SessionPath, actor};

/// Chunks read from the database at a time while streaming a recording.
pub const CHUNKS_PER_READ: u32 = 4;
/// Recordings purged per transaction.
const PURGE_BATCH: u32 = 100;

/// Why a recording or live view cannot be given (409, with these words).
fn refused(why: &'static str) -> ServiceError {
    ServiceError::SessionConflict(why)
}

/// A recording ready to stream: its state and where to read its chunks from.
pub struct RecordingStream {
    pub info: RecordingInfo,
    pub session: SessionId,
}

/// What a session page shows of a session's recording and live state.
pub struct SessionView {
    pub facts: SessionFacts,
    /// Open, and held by this instance (so watchable here).
    pub live_here: bool,
}

impl App {
    /// The recording and live state of a session the caller may see.
    pub async fn session_view(
        &self,
        p: &Principal,
        group_id: Option<&str>,
        path: SessionPath,
    ) -> ServiceResult<SessionView> {
        let (target, facts) = self.visible_session(p, group_id, path).await?;
        let live_here = !facts.ended && self.live_feeds.get(target.session_id).is_some();
        Ok(SessionView { facts, live_here })
    }

    async fn visible_session(
        &self,
        p: &Principal,
        group_id: Option<&str>,
        path: SessionPath,
    ) -> ServiceResult<(SessionRef, SessionFacts)> {
        let target = path.within(self.customer_scope(p, group_id).await?)?;
        let facts = self.store.session_facts(target.clone()).await?;
        Ok((target, facts))
    }

    /// The recording of a session the caller may see.
    pub async fn session_recording(
        &self,
        p: &Principal,
        group_id: Option<&str>,
        path: SessionPath,
    ) -> ServiceResult<RecordingStream> {
        let (target, facts) = self.visible_session(p, group_id, path).await?;
        let Some(info) = facts.recording else {
            return Err(refused(if facts.source == SessionSource::Broker {
                "the session has no recording (no terminal was opened in it)"
            } else {
                "the session has no recording (only sessions through the SSH broker are recorded)"
            }));
        };
        if info.purged_at.is_some() {
            return Err(refused(
                "the recording was deleted at the end of its retention period; its SHA-256 stays in the audit log",
            ));
        }
        Ok(RecordingStream {
            info,
            session: target.session_id,
        })
    }

    /// Chunks of a recording returned by [`App::session_recording`], from `from` on.
    pub async fn recording_chunks(
        &self,
        recording: &RecordingStream,
        from: i64,
    ) -> ServiceResult<Vec<RecordingChunk>> {
        Ok(self
            .store
            .recording_chunks(recording.session, from, CHUNKS_PER_READ)
            .await?)
    }

    /// Watches a live session held by this instance.
    pub async fn watch_session(
        &self,
        p: &Principal,
        group_id: Option<&str>,
        path: SessionPath,
    ) -> ServiceResult<Subscription> {
        let (target, facts) = self.visible_session(p, group_id, path).await?;
        if facts.source != SessionSource::Broker {
            return Err(SessionRefused::NotBrokered.into());
        }
        if facts.ended {
            return Err(SessionRefused::Closed.into());
        }
        match self.live_feeds.get(target.session_id) {
            Some(feed) => feed.subscribe().ok_or_else(|| {
                refused("the session has no terminal to watch (a command without a terminal)")
            }),
            None => Err(refused(
                "the session runs on another instance of the service; connect to that instance to watch it",
            )),
        }
    }

    /// Ends one live session, wherever it runs; the authorization stays as it is.
    pub async fn terminate_session(
        &self,
        p: &Principal,
        group_id: Option<&str>,
        path: SessionPath,
        reason: Option<String>,
    ) -> ServiceResult<()> {
        optional_text("reason", reason.as_deref(), 0, MAX_TERMINATE_REASON)?;
        let reason = reason.filter(|r| !r.trim().is_empty());
        let target = path.within(self.customer_scope(p, group_id).await?)?;
        self.store
            .request_termination(target, actor(p), reason, self.clock.now())
            .await?;
        // The session may be ours: cut it now rather than at the next poll.
        self.live_sessions.poke();
        Ok(())
    }

    /// Stores one chunk of a broker session's recording.
    pub async fn broker_store_chunk(
        &self,
        session: SessionId,
        chunk: RecordingChunk,
    ) -> ServiceResult<()> {
        Ok(self
            .store
            .append_recording_chunk(session, chunk, self.clock.now())
            .await?)
    }

    /// Drops recordings past their retention; returns how many.
    pub async fn purge_recordings(&self) -> ServiceResult<u64> {
        let now = self.clock.now();
        let before = now - self.policy.recording_retention;
        let mut total = 0;
        loop {
            let n = self
                .store
                .purge_recordings(before, now, PURGE_BATCH)
                .await?;
            total += u64::from(n);
            if n < PURGE_BATCH {
                return Ok(total);
            }
        }
    }
}

impl From<SessionRefused> for ServiceError {
    fn from(why: SessionRefused) -> Self {
        ServiceError::SessionConflict(why.message())
    }
}
