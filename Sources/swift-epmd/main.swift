print("swift-epmd")
