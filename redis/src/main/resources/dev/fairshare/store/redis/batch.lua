-- A batch of one instance's calls on one model, applied in order, each as its own decision (so a
-- batch decides exactly as the same calls sent one by one would). ARGV: the number of calls, then
-- per call its kind (1 acquire, 2 settle, 3 settle quietly, 4 standing), its number of arguments
-- and the arguments; KEYS: RedisUsageStore.KEYS_PER_CALL per call. Returns each call's answer.
-- The model's and keys' hashes are written once, after the last call (common.lua's cache): a call
-- that fails fails the batch, and none of its calls' hash writes is made.
local kinds = {acquireOne, settleOne, settleQuietOne, standingOne}
local allKeys, allArgv = KEYS, ARGV
local answers = {}
local at = 2
for i = 1, tonumber(allArgv[1]) do
  local kind, count = tonumber(allArgv[at]), tonumber(allArgv[at + 1])
  local argv = {}
  for j = 1, count do argv[j] = allArgv[at + 1 + j] end
  at = at + 2 + count
  local keys = {}
  local first = (i - 1) * 8
  for j = 1, 8 do keys[j] = allKeys[first + j] end
  bind(keys, argv)
  answers[i] = kinds[kind]()
end
writeBack()
return answers
