// Proto3 JSON may spell field names in lowerCamelCase (protobuf's default printer) or as in the
// .proto file; the generated types (ts-proto, snakeToCamel=false) use the .proto spelling, so
// answers are normalised to it. "@type" and the values of map fields are left alone.
export function toProtoNames<T>(value: unknown): T {
  return normalise(value) as T;
}

function normalise(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalise);
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    out[k.startsWith("@") ? k : snake(k)] = normalise(x);
  }
  return out;
}

export function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** A server's error path ("campaign.creatives[0].bannerSizes") in the form's spelling
 *  ("creatives.0.banner_sizes"). */
export function fieldKey(path: string): string {
  return snake(path)
    .replace(/^campaign\./, "")
    .replace(/\[(\d+)\]/g, ".$1");
}
