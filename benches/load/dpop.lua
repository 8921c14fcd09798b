-- wrk script of the DPoP run (benches/load/dpop.sh): `wrk ... -s dpop.lua URL -- FILE`, FILE
-- written by the dpop_proofs example (the bound token, then one proof per line). Every request
-- carries the token and a proof of its own; past the last proof a request goes without one and
-- is refused (401), which the script counts as a failure, as it does a replayed proof. (wrk calls
-- request() once at startup to check what it returns: that first proof is never sent.)
local token, proofs, n, i = nil, {}, 0, 0

function init(args)
  local file = assert(io.open(args[1], "r"))
  token = "DPoP " .. file:read("*l")
  for line in file:lines() do
    n = n + 1
    proofs[n] = line
  end
  file:close()
end

function request()
  i = i + 1
  local headers = { ["Authorization"] = token }
  if i <= n then
    headers["DPoP"] = proofs[i]
    proofs[i] = nil
  end
  return wrk.format("GET", nil, headers)
end
