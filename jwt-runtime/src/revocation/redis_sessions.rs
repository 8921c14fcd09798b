//! Sessions in Redis (`JWT_REFRESH_ROTATION`): the Lua scripts that apply the rules of
//! [`Family`](super::Family) atomically, and the decoding of what they store.
//!
//! A session is a hash `<prefix>session:<id>` (fields `user`, `label`, `created`, `last`,
//! `cur` and `prev`: space-separated `jti`s, `rot`: time of the last rotation, `seen`: `1` once
//! the current token was presented (missing in sessions of earlier versions: taken as `1`),
//! `ended`, `until`, and the audit fields `rotations`, `reused_at`, `reused_jti`, `ended_at`), expiring at its
//! `until`; a user's sessions are indexed in the sorted set `<prefix>sessions:<user>`, scored by
//! `until`. A script runs alone on the server, so two instances racing with one refresh token
//! see one another: one rotates, the other gets the same replacement or the reuse.
//! Every script that ends a session publishes `session <until> <id>` (`-`: kept forever) on the
//! store's channel, so the instances' mirrors refuse it without asking.

use super::{BlocklistError, Rotation, SessionInfo, Standing};

/// `announce_end(channel, id, until)`: publishes that a session ended, `session <until> <id>`
/// (`-` for a session kept forever), so every instance's mirror refuses it at once.
macro_rules! announce_lua {
    () => {
        r"
local function announce_end(channel, id, keep)
  if not keep or keep == '' then keep = '-' end
  redis.call('PUBLISH', channel, 'session ' .. keep .. ' ' .. id)
  return 'session ' .. keep .. ' ' .. id
end
"
    };
}

/// The rules of [`Family::standing`](super::Family::standing), restated in Lua: the start of
/// every script that reads a session. `standing(key, user, jti, now, grace)` answers
/// `current`, `retired`, `reused` or `ended`, and the fields it read.
macro_rules! standing_lua {
    () => {
        concat!(
            announce_lua!(),
            r"
local function has(list, x)
  for v in string.gmatch(list or '', '%S+') do
    if v == x then return true end
  end
  return false
end
local function standing(key, user, jti, now, grace)
  local f = redis.call('HMGET', key, 'cur', 'prev', 'rot', 'ended', 'until', 'user', 'seen')
  if not f[1] or f[4] == '1' or f[6] ~= user then return 'ended', f end
  if f[5] ~= '' and tonumber(f[5]) < now then return 'ended', f end
  if has(f[1], jti) then return 'current', f end
  local within = now - (tonumber(f[3]) or 0) < grace
  if has(f[2], jti) and string.find(f[1], '%S') and (f[7] == '0' or within) then
    return 'retired', f
  end
  return 'reused', f
end
local function reuse(key, now, jti, keep, channel, id)
  redis.call('HSET', key, 'ended', '1', 'reused_at', now, 'ended_at', now, 'reused_jti', jti)
  announce_end(channel, id, keep)
end
"
        )
    };
}

/// The fields of a new session. KEYS = session, user index; ARGV = user, label, created, jti,
/// until or '', ttl or '', id, now.
macro_rules! start_lua {
    () => {
        r"
local function start(user, label, created, jti, keep, ttl, id, now)
  redis.call('HSET', KEYS[1], 'user', user, 'label', label, 'created', created,
    'last', created, 'cur', jti, 'prev', '', 'rot', created, 'ended', '0', 'until', keep,
    'rotations', '0', 'seen', '0')
  if ttl ~= '' then redis.call('EXPIRE', KEYS[1], ttl) end
  local score = keep
  if score == '' then score = '+inf' end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. now)
  redis.call('ZADD', KEYS[2], score, id)
end
"
    };
}

/// KEYS = session, user index; ARGV = user, label, created, jti, until or '', ttl or '', id, now.
pub(super) const START_SCRIPT: &str = concat!(
    start_lua!(),
    r"
start(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
return 1
"
);

/// KEYS = session, user index; ARGV = used, new, now, grace, until or '', ttl or '', id, user,
/// adopt (`1`: start the session with `used` as its current token when it does not exist),
/// channel.
/// Returns `rotated`, `shared <jti>`, `reused` or `ended`.
pub(super) const ROTATE_SCRIPT: &str = concat!(
    standing_lua!(),
    start_lua!(),
    r"
local now = tonumber(ARGV[3])
if ARGV[9] == '1' and redis.call('EXISTS', KEYS[1]) == 0 then
  start(ARGV[8], '', ARGV[3], ARGV[1], ARGV[5], ARGV[6], ARGV[7], ARGV[3])
end
local s, f = standing(KEYS[1], ARGV[8], ARGV[1], now, tonumber(ARGV[4]))
if s == 'ended' then return 'ended' end
if s == 'reused' then
  reuse(KEYS[1], ARGV[3], ARGV[1], f[5], ARGV[10], ARGV[7])
  return 'reused'
end
local outcome
if s == 'current' then
  redis.call('HSET', KEYS[1], 'prev', f[1], 'cur', ARGV[2], 'rot', ARGV[3], 'last', ARGV[3],
    'seen', '0')
  outcome = 'rotated'
else
  redis.call('HSET', KEYS[1], 'last', ARGV[3])
  outcome = 'shared ' .. string.match(f[1], '%S+')
end
redis.call('HINCRBY', KEYS[1], 'rotations', 1)
if f[5] ~= '' then
  if ARGV[5] == '' then
    redis.call('HSET', KEYS[1], 'until', '')
    redis.call('PERSIST', KEYS[1])
    redis.call('ZADD', KEYS[2], '+inf', ARGV[7])
  elseif tonumber(ARGV[5]) > tonumber(f[5]) then
    redis.call('HSET', KEYS[1], 'until', ARGV[5])
    if ARGV[6] == '' then
      redis.call('PERSIST', KEYS[1])
    else
      redis.call('EXPIRE', KEYS[1], ARGV[6])
    end
    redis.call('ZADD', KEYS[2], ARGV[5], ARGV[7])
  end
end
return outcome
"
);

/// KEYS = session; ARGV = jti, now, grace, user, adopt (`1`: an unknown session is the token's
/// own, not yet started), id, channel. Returns `current` (marked presented), `retired`, `reused` (the session
/// is ended) or `ended`.
pub(super) const CHECK_SCRIPT: &str = concat!(
    standing_lua!(),
    r"
if ARGV[5] == '1' and redis.call('EXISTS', KEYS[1]) == 0 then return 'current' end
local s, f = standing(KEYS[1], ARGV[4], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
if s == 'current' then
  if f[7] ~= '1' then redis.call('HSET', KEYS[1], 'seen', '1') end
elseif s == 'reused' then
  reuse(KEYS[1], ARGV[2], ARGV[1], f[5], ARGV[7], ARGV[6])
end
return s
"
);

/// KEYS = user index; ARGV = session key prefix, issued_before, now, channel. Ends the user's
/// live sessions not refreshed after the cut-off ("log out everywhere"); returns the events it
/// published.
pub(super) const END_USER_SCRIPT: &str = concat!(
    announce_lua!(),
    r"
local ended = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = ARGV[1] .. id
  local f = redis.call('HMGET', key, 'last', 'ended', 'until')
  if f[1] and f[2] == '0' and tonumber(f[1]) <= tonumber(ARGV[2]) then
    redis.call('HSET', key, 'ended', '1', 'ended_at', ARGV[3])
    table.insert(ended, announce_end(ARGV[4], id, f[3]))
  end
end
return ended
"
);

/// KEYS = session; ARGV = user, now, id, channel. Returns the event it published when a live
/// session of that user was ended, `''` otherwise.
pub(super) const END_SCRIPT: &str = concat!(
    announce_lua!(),
    r"
local f = redis.call('HMGET', KEYS[1], 'user', 'ended', 'until')
if not f[1] or f[1] ~= ARGV[1] or f[2] == '1' then return '' end
if f[3] ~= '' and tonumber(f[3]) < tonumber(ARGV[2]) then return '' end
redis.call('HSET', KEYS[1], 'ended', '1', 'ended_at', ARGV[2])
return announce_end(ARGV[4], ARGV[3], f[3])
"
);

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
    match outcome.split_once(' ') {
        Some(("shared", jti)) if !jti.is_empty() => return Ok(Rotation::Shared(jti.to_string())),
        _ => {}
    }
    match outcome {
        "rotated" => Ok(Rotation::Rotated),
        "reused" => Ok(Rotation::Reused),
        "ended" => Ok(Rotation::Ended),
        other => Err(BlocklistError::new(format!(
            "redis blocklist: unexpected rotation answer {other:?}"
        ))),
    }
}

pub(super) fn parse_standing(standing: &str) -> Result<Standing, BlocklistError> {
    match standing {
        "current" => Ok(Standing::Current),
        "retired" => Ok(Standing::Retired),
        "reused" => Ok(Standing::Reused),
        "ended" => Ok(Standing::Ended),
        other => Err(BlocklistError::new(format!(
            "redis blocklist: unexpected session answer {other:?}"
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

    #[test]
    fn answers_parse_and_nothing_else_does() {
        assert_eq!(
            parse_outcome("shared j2").unwrap(),
            Rotation::Shared("j2".into())
        );
        assert_eq!(parse_outcome("rotated").unwrap(), Rotation::Rotated);
        assert!(parse_outcome("shared ").is_err() && parse_outcome("grace").is_err());
        assert_eq!(parse_standing("retired").unwrap(), Standing::Retired);
        assert!(parse_standing("").is_err());
    }
}
