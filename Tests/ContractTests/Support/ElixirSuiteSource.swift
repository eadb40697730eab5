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
      {:DOWN, r0, :process, p0, {:check_result, r}} when r0 == ref and p0 == pid -> r
      {:DOWN, r0, :process, p0, other} when r0 == ref and p0 == pid -> {:fail, {:died, other}}
    after 30_000 ->
      Process.exit(pid, :kill)
      {:fail, :timeout}
    end
    ms = System.monotonic_time(:millisecond) - t0
    case res do
      :ok -> IO.puts("RESULT #{name} ok #{ms}ms")
      other -> IO.puts("RESULT #{name} FAIL " <> String.replace(inspect(other, limit: 30, printable_limit: 300), "\n", " "))
    end
  end

  def rt(t, term) do
    ref = make_ref()
    send({:server, t}, {{:rt, ref, term}, self()})
    receive do
      {:rt, r0, back} when r0 == ref ->
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
alias ContractCheck, as: C

C.check("elixir/node_connect", fn -> C.connect(t, System.monotonic_time(:millisecond) + 10_000) end)
C.check("elixir/node_list", fn -> C.eq(true, t in Node.list()) end)
C.check("elixir/utf8_binaries", fn -> C.rt(t, ["héllo wörld 😀", "", "日本語", <<0, 255>>]) end)
C.check("elixir/charlists", fn -> C.rt(t, [~c"charlist", ~c"", [233, 128512]]) end)
C.check("elixir/keyword_lists", fn -> C.rt(t, [a: 1, b: "two", c: [d: :e]]) end)
C.check("elixir/structs", fn -> C.rt(t, {struct(ContractData, name: "n", tags: [:a], meta: %{1 => 1.0}), URI.parse("http://example.com:80/p?q=1"), 1..10, ~D[2024-01-02]}) end)
C.check("elixir/mapsets", fn -> C.rt(t, {MapSet.new([1, 2, 3]), MapSet.new(1..100), MapSet.new(["a", :b, {1}])}) end)
C.check("elixir/mixed", fn -> C.rt(t, %{"k" => [x: struct(ContractData)], :set => MapSet.new(1..40), -1 => {:ok, self(), make_ref()}}) end)
C.check("elixir/genserver_cast_call", fn ->
  GenServer.cast({:counter, t}, :reset)
  with :ok <- C.eq(0, GenServer.call({:counter, t}, :get, 5000)),
       :ok <- C.eq(1, GenServer.call({:counter, t}, :incr, 5000)),
       do: C.eq(1, GenServer.call({:counter, t}, :get, 5000))
end)
C.check("elixir/rpc_call", fn -> C.eq(t, :rpc.call(t, :erlang, :node, [], 5000)) end)
C.check("elixir/node_spawn_send_node", fn ->
  pid = Node.spawn(t, :s, :send_node, [self()])
  receive do
    ^t -> C.eq(t, node(pid))
  after 5000 -> :no_node_name
  end
end)
C.check("elixir/process_monitor", fn ->
  pid = Node.spawn(t, :s, :echo, [])
  ref = Process.monitor(pid)
  send(pid, {:exit, :bye})
  receive do
    {:DOWN, r0, :process, p0, reason} when r0 == ref and p0 == pid -> C.eq(:bye, reason)
  after 5000 -> :no_down
  end
end)
C.check("elixir/node_disconnect", fn -> C.eq(true, Node.disconnect(t)) end)
IO.puts("DONE")
"""#
}
