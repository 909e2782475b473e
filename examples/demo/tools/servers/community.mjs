#!/usr/bin/env node
// The example's MCP tool server: a tiny community directory over stdio, built with the official
// MCP SDK (@modelcontextprotocol/sdk). Plain JavaScript, so it runs with `node` alone.
//
// Tool: find_buddy { plan: "solo" | "team" } → a member who welcomes newcomers on that plan.
//
// Try it by hand: npx @modelcontextprotocol/inspector node tools/servers/community.mjs
import process from 'node:process';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const BUDDIES = {
  solo: { buddy: 'Katherine Johnson', channel: '#solo-makers', member_since: '2019-02-11' },
  team: { buddy: 'Grace Hopper', channel: '#team-spaces', member_since: '2018-06-01' },
};

const TOOLS = [
  {
    name: 'find_buddy',
    description: 'Finds a community member who welcomes newcomers on the given plan.',
    inputSchema: {
      type: 'object',
      properties: { plan: { type: 'string', enum: Object.keys(BUDDIES), description: "The newcomer's plan." } },
      required: ['plan'],
      additionalProperties: false,
    },
  },
];

const server = new Server({ name: 'agentry-demo-community', version: '1.0.0' }, { capabilities: { tools: {} } });

server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOLS }));

server.setRequestHandler(CallToolRequestSchema, (request) => {
  const { name, arguments: args = {} } = request.params;
  if (name !== 'find_buddy') {
    return { isError: true, content: [{ type: 'text', text: `unknown tool ${name}` }] };
  }
  const found = BUDDIES[String(args.plan)];
  if (found === undefined) {
    return { isError: true, content: [{ type: 'text', text: `no buddies for plan ${JSON.stringify(args.plan)}; plans: ${Object.keys(BUDDIES).join(', ')}` }] };
  }
  const result = { plan: args.plan, ...found };
  return { content: [{ type: 'text', text: JSON.stringify(result) }], structuredContent: result };
});

// Exit when Agentry closes our stdin (it also stops us with SIGTERM when it shuts down).
process.stdin.on('end', () => process.exit(0));
await server.connect(new StdioServerTransport());
