//! Sessions in Redis (`JWT_REFRESH_ROTATION`): the Lua scripts that apply the rules of
//! [`Family`](super::Family) atomically, and the decoding of what they store.
//!
//! A session is a hash `<prefix>session:<id>` (fields `user`, `label`, `created`, `last`,
//! `cur` and `prev`: space-separated `jti`s, `rot`: time of the last rotation, `ended`, `until`,
//! and the audit fields `rotations`, `reused_at`, `ended_at`), expiring at its `until`; a user's
//! sessions are indexed in the sorted set `<prefix>sessions:<user>`, scored by `until`. A script
//! runs alone on the server, so two instances racing with one refresh token see one another: one
//! rotates, the other gets the grace answer or the reuse.

use super::{BlocklistError, Rotation, SessionInfo};

/// KEYS = session, user index; ARGV = user, label, created, jti, until or '', ttl or '', id, now.
pub(super) const START_SCRIPT: &str = r"
redis.call('HSET', KEYS[1], 'user', ARGV[1], 'label', ARGV[2], 'created', ARGV[3],
  'last', ARGV[3], 'cur', ARGV[4], 'prev', '', 'rot', ARGV[3], 'ended', '0', 'until', ARGV[5],
  'rotations', '0')
if ARGV[6] ~= '' then redis.call('EXPIRE', KEYS[1], ARGV[6]) end
local score = ARGV[5]
if score == '' then score = '+inf' end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[8])
redis.call('ZADD', KEYS[2], score, ARGV[7])
return 1
";

/// KEYS = session, user index; ARGV = used, new, now, grace, until or '', ttl or '',
/// max siblings, id. Returns `rotated`, `grace`, `reused` or `ended`.
pub(super) const ROTATE_SCRIPT: &str = r"
local f = redis.call('HMGET', KEYS[1], 'cur', 'prev', 'rot', 'ended', 'until')
if not f[1] or f[4] == '1' then return 'ended' end
local now = tonumber(ARGV[3])
if f[5] ~= '' and tonumber(f[5]) < now then return 'ended' end
local function count(list, x)
  local n, found = 0, false
  for v in string.gmatch(list, '%S+') do
    n = n + 1
    if v == x then found = true end
  end
  return n, found
end
local n, current = count(f[1], ARGV[1])
local _, previous = count(f[2], ARGV[1])
local outcome
if current then
  redis.call('HSET', KEYS[1], 'prev', f[1], 'cur', ARGV[2], 'rot', ARGV[3], 'last', ARGV[3])
  outcome = 'rotated'
elseif previous and now - tonumber(f[3]) < tonumber(ARGV[4]) and n < tonumber(ARGV[7]) then
  redis.call('HSET', KEYS[1], 'cur', f[1] .. ' ' .. ARGV[2], 'last', ARGV[3])
  outcome = 'grace'
else
  redis.call('HSET', KEYS[1], 'ended', '1', 'reused_at', ARGV[3], 'ended_at', ARGV[3])
  return 'reused'
end
redis.call('HINCRBY', KEYS[1], 'rotations', 1)
if f[5] ~= '' then
  if ARGV[5] == '' then
    redis.call('HSET', KEYS[1], 'until', '')
    redis.call('PERSIST', KEYS[1])
    redis.call('ZADD', KEYS[2], '+inf', ARGV[8])
  elseif tonumber(ARGV[5]) > tonumber(f[5]) then
    redis.call('HSET', KEYS[1], 'until', ARGV[5])
    if ARGV[6] == '' then
      redis.call('PERSIST', KEYS[1])
    else
      redis.call('EXPIRE', KEYS[1], ARGV[6])
    end
    redis.call('ZADD', KEYS[2], ARGV[5], ARGV[8])
  end
end
return outcome
";

/// KEYS = session; ARGV = user, now. Returns 1 when a live session of that user was ended.
pub(super) const END_SCRIPT: &str = r"
local f = redis.call('HMGET', KEYS[1], 'user', 'ended', 'until')
if not f[1] or f[1] ~= ARGV[1] or f[2] == '1' then return 0 end
if f[3] ~= '' and tonumber(f[3]) < tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'ended', '1', 'ended_at', ARGV[2])
return 1
";

/// `ended`, `until`, `created`, `last`, `label` of a session hash.
pub(super) type SessionFields = (
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

/// A label as stored: `''` for none, `=` before a given one.
pub(super) fn encode_label(label: Option<&str>) -> String {
    label.map(|l| format!("={l}")).unwrap_or_default()
}

fn decode_label(stored: Option<String>) -> Option<String> {
    stored.and_then(|l| l.strip_prefix('=').map(String::from))
}

/// Whether a session with these `ended` and `until` fields is live at `now`.
pub(super) fn is_live((ended, until): (Option<String>, Option<String>), now: i64) -> bool {
    match (ended.as_deref(), until.as_deref()) {
        (Some("0"), Some("")) => true,
        (Some("0"), Some(until)) => until.parse::<i64>().is_ok_and(|u| u >= now),
        _ => false,
    }
}

/// The listing of a session, when it is live.
pub(super) fn session_info(id: String, fields: SessionFields, now: i64) -> Option<SessionInfo> {
    let (ended, until, created, last, label) = fields;
    if !is_live((ended, until), now) {
        return None;
    }
    Some(SessionInfo {
        session: id,
        created_at: created?,
        last_refreshed: last?,
        label: decode_label(label),
    })
}

pub(super) fn parse_outcome(outcome: &str) -> Result<Rotation, BlocklistError> {
    match outcome {
        "rotated" => Ok(Rotation::Rotated),
        "grace" => Ok(Rotation::Grace),
        "reused" => Ok(Rotation::Reused),
        "ended" => Ok(Rotation::Ended),
        other => Err(BlocklistError::new(format!(
            "redis blocklist: unexpected rotation answer {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_liveness_reads_the_fields() {
        assert_eq!(
            decode_label(Some(encode_label(Some("")))),
            Some(String::new())
        );
        assert_eq!(decode_label(Some(encode_label(None))), None);
        let live =
            |ended: &str, until: &str| is_live((Some(ended.into()), Some(until.into())), 100);
        assert!(live("0", "") && live("0", "100"));
        assert!(!live("0", "99") && !live("1", "") && !is_live((None, None), 100));
    }
}
