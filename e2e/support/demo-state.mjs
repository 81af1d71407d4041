// The demo's shared state (a counter and a todo list in each room), as server options.
// Empty until the server exposes versioned state publicly; see docs/state.md.
export async function demoServerOptions() {
  return {};
}
