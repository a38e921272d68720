// Runs one non-streaming and one streaming chat completion with the official npm client
// (openai@6.30.1) against FairShare; prints one JSON line with what it saw.
import OpenAI from 'openai';

const [baseURL, apiKey, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey });

const { data: completion, response } = await client.chat.completions
  .create({ model, messages: [{ role: 'user', content: 'Hello world!' }] })
  .withResponse();

const stream = await client.chat.completions.create({
  model,
  messages: [{ role: 'user', content: 'Hello again!' }],
  stream: true,
});
let streamed = '';
let chunks = 0;
let usageChunks = 0;
for await (const chunk of stream) {
  chunks++;
  if (chunk.usage) usageChunks++;
  for (const choice of chunk.choices) streamed += choice.delta?.content ?? '';
}

let rateLimited = null;
try {
  await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Once more' }] });
} catch (e) {
  rateLimited = { status: e.status, name: e.constructor.name, code: e.code, type: e.type };
}

console.log(JSON.stringify({
  totalTokens: completion.usage.total_tokens,
  content: completion.choices[0].message.content,
  remainingTokens: response.headers.get('x-ratelimit-remaining-tokens'),
  streamed,
  chunks,
  usageChunks,
  rateLimited,
}));
