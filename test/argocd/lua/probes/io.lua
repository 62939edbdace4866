io.write("x") return {}
