"""The knowledge base: Markdown articles, their index and the retriever that answers from it."""
