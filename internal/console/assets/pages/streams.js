export async function render(root, route, { ui, aws }) {
  const { h } = ui;
  const out = await aws.json('kinesis', 'ListStreams', {});
  root.append(h('h1', {}, 'Data Streams'), ui.table([{ title: 'Name', value: (n) => n }], out.StreamNames));
}
