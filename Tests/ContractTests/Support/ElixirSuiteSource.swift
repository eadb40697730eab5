/// The Elixir side of CONTRACT §12: a fresh Elixir node that connects, checks and leaves. Prints RESULT lines and DONE.
enum ElixirSuiteSource {
    static let text = #"""
defmodule ContractCheck do
  def check(name, f) do
    t0 = System.monotonic_time(:millisecond)
    {pid, ref} = spawn_monitor(fn ->
      r = try do
        f.()
      catch
        k, e -> {:fail, {k, e}}
      end
      exit({:check_result, r})
    end)
    res = receive do
      {:DOWN, ^ref, :process, ^pid, {:check_result, r}} -> r
      {:DOWN, ^ref, :process, ^pid, other} -> {:fail, {:died, other}}
    after 30_000 ->
      Process.exit(pid, :kill)
      {:fail, :timeout}
    end
    ms = System.monotonic_time(:millisecond) - t0
    case res do
      :ok -> IO.puts("RESULT #{name} ok #{ms}ms")
      other -> IO.puts("RESULT elixir/#{name} FAIL " <> String.replace(inspect(other, limit: 30, printable_limit: 300), "\n", " "))
    end
  end

  def rt(t, term) do
    ref = make_ref()
    send({:server, t}, {{:rt, ref, term}, self()})
    receive do
      {:rt, ^ref, back} ->
        if back === term and :erlang.term_to_binary(back, [:deterministic]) == :erlang.term_to_binary(term, [:deterministic]) do
          :ok
        else
          {:changed, term, back}
        end
    after 10_000 -> {:no_reply, term}
    end
  end

  def eq(a, a), do: :ok
  def eq(a, b), do: {:expected, a, :got, b}

  def connect(t, deadline) do
    cond do
      Node.connect(t) == true -> :ok
      System.monotonic_time(:millisecond) > deadline -> {:cannot_connect, t}
      true -> Process.sleep(200); connect(t, deadline)
    end
  end
end

defmodule ContractData do
  defstruct name: "x", tags: [], meta: %{}
end

t = String.to_atom(System.fetch_env!("CONTRACT_TARGET"))
import ContractCheck

check("elixir/node_connect", fn -> connect(t, System.monotonic_time(:millisecond) + 10_000) end)
check("elixir/node_list", fn -> eq(true, t in Node.list()) end)
check("elixir/utf8_binaries", fn -> rt(t, ["héllo wörld 😀", "", "日本語", <<0, 255>>]) end)
check("elixir/charlists", fn -> rt(t, [~c"charlist", ~c"", [233, 128512]]) end)
check("elixir/keyword_lists", fn -> rt(t, [a: 1, b: "two", c: [d: :e]]) end)
check("elixir/structs", fn -> rt(t, {%ContractData{name: "n", tags: [:a], meta: %{1 => 1.0}}, URI.parse("http://example.com:80/p?q=1"), 1..10, ~D[2024-01-02]}) end)
check("elixir/mapsets", fn -> rt(t, {MapSet.new([1, 2, 3]), MapSet.new(1..100), MapSet.new(["a", :b, {1}])}) end)
check("elixir/mixed", fn -> rt(t, %{"k" => [x: %ContractData{}], :set => MapSet.new(1..40), -1 => {:ok, self(), make_ref()}}) end)
check("elixir/genserver_cast_call", fn ->
  GenServer.cast({:counter, t}, :reset)
  with :ok <- eq(0, GenServer.call({:counter, t}, :get, 5000)),
       :ok <- eq(1, GenServer.call({:counter, t}, :incr, 5000)),
       do: eq(1, GenServer.call({:counter, t}, :get, 5000))
end)
check("elixir/rpc_call", fn -> eq(t, :rpc.call(t, :erlang, :node, [], 5000)) end)
check("elixir/node_spawn_send_node", fn ->
  pid = Node.spawn(t, :s, :send_node, [self()])
  receive do
    ^t -> eq(t, node(pid))
  after 5000 -> :no_node_name
  end
end)
check("elixir/process_monitor", fn ->
  pid = Node.spawn(t, :s, :echo, [])
  ref = Process.monitor(pid)
  send(pid, {:exit, :bye})
  receive do
    {:DOWN, ^ref, :process, ^pid, reason} -> eq(:bye, reason)
  after 5000 -> :no_down
  end
end)
check("elixir/node_disconnect", fn -> eq(true, Node.disconnect(t)) end)
IO.puts("DONE")
"""#
}
