-- A batch of one instance's calls on one model, applied in order, each as its own decision (so a
-- batch decides exactly as the same calls sent one by one would). ARGV: the number of calls, the
-- keys per call, the shared keys' count and positions, the shared arguments' count and (position,
-- value) pairs (what every call of the batch has alike: the model's keys, the settings), then per
-- call its kind (1 acquire, 2 settle, 3 settle quietly, 4 standing), its number of other arguments
-- and those, in order; KEYS: the shared keys, then each call's others, in order
-- (ScriptBatches). Returns each call's answer.
-- The model's and keys' hashes are written once, after the last call (common.lua's cache): a call
-- that fails fails the batch, and none of its calls' hash writes is made.
local kinds = {acquireOne, settleOne, settleQuietOne, standingOne}
local allKeys, allArgv = KEYS, ARGV
local calls, keysPerCall = tonumber(allArgv[1]), tonumber(allArgv[2])
local at = 3
local sharedKeys, sharedArgs = {}, {}
local sharedKeyCount = tonumber(allArgv[at])
at = at + 1
for i = 1, sharedKeyCount do
  sharedKeys[tonumber(allArgv[at])] = allKeys[i]
  at = at + 1
end
local sharedArgCount = tonumber(allArgv[at])
at = at + 1
for _ = 1, sharedArgCount do
  sharedArgs[tonumber(allArgv[at])] = allArgv[at + 1]
  at = at + 2
end
-- A call's values: the shared ones at their positions, the others in order from source[from].
-- Returns them and where the next call's begin.
local function merged(shared, count, source, from)
  local values = {}
  for position = 1, count do
    local v = shared[position]
    if v == nil then
      v = source[from]
      from = from + 1
    end
    values[position] = v
  end
  return values, from
end

local nextKey = sharedKeyCount + 1
local answers = {}
for i = 1, calls do
  local kind, count = tonumber(allArgv[at]), tonumber(allArgv[at + 1])
  at = at + 2
  local argv, keys
  argv, at = merged(sharedArgs, count + sharedArgCount, allArgv, at)
  keys, nextKey = merged(sharedKeys, keysPerCall, allKeys, nextKey)
  bind(keys, argv)
  answers[i] = kinds[kind]()
end
writeBack()
return answers
