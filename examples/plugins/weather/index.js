// The example Agentry plugin (docs/plugins.md): plain ES module, no build step.
// Everything it reaches goes through `ctx`, which enforces agentry-plugin.json: one host, one env var.

const DEFAULT_BASE_URL = 'https://api.weather.example';

/** The forecast for `city`, fetched through ctx.fetch (only the declared host is allowed). */
async function forecast(ctx, city, baseUrl = DEFAULT_BASE_URL) {
  const key = ctx.env.WEATHER_API_KEY;
  if (key === undefined) throw new Error('WEATHER_API_KEY is not set');
  const url = `${baseUrl}/v1/forecast?city=${encodeURIComponent(city)}`;
  const response = await ctx.fetch(url, { headers: { authorization: `Bearer ${key}` }, signal: ctx.signal });
  if (response.status !== 200) throw new Error(`weather API answered ${response.status}`);
  const body = JSON.parse(response.body);
  ctx.log.info({ city }, 'forecast fetched');
  return { city, summary: body.summary, temperature_c: body.temperature_c };
}

export default {
  steps: {
    forecast: (config, ctx) => forecast(ctx, config.city, config.base_url),
  },
  tools: {
    forecast: (input, ctx) => forecast(ctx, input.city, input.base_url),
  },
  routes: {
    'GET /forecast': async (request, ctx) => {
      const city = request.query.city;
      if (typeof city !== 'string' || city === '') return { status: 400, body: { error: 'city is required' } };
      return { status: 200, body: await forecast(ctx, city, request.query.base_url) };
    },
  },
};
