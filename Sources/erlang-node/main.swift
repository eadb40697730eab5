print("erlang-node")
